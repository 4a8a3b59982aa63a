"""`python -m {{ cookiecutter.package_name }}`: the project's CLI."""

from .cli import main

main()
