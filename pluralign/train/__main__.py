"""`python -m pluralign.train RECIPE.yaml [key=value ...]`, also under `accelerate launch -m` and
`torchrun -m`: the same as `pluralign train` (one parser, one error handler)."""

import sys

from pluralign.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
