"""`python train.py --config configs/v1.yaml`: the same as `{{ cookiecutter.project_slug }} train`."""

import sys

from {{ cookiecutter.package_name }}.cli import main

if __name__ == "__main__":
    sys.argv[1:1] = ["train"]
    main()
