"""The {{ cookiecutter.package_name }} package: features, training and the model registry."""

# The ml-template release this project was generated from (recorded on every training run).
TEMPLATE_VERSION = "{{ cookiecutter._template_version }}"
