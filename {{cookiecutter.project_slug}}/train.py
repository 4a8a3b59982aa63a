"""`python train.py --config configs/v1.yaml`: the same as `{{ cookiecutter.project_slug }} train`."""

import sys

from {{ cookiecutter.package_name }}.cli import app

if __name__ == "__main__":
    app(["train", *sys.argv[1:]])
