"""{{ cookiecutter.description }}"""

# The ml-template release this project was generated from (recorded on every training run).
TEMPLATE_VERSION = "{{ cookiecutter._template_version }}"
