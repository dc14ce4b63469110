"""`python -m pluralign.train RECIPE.yaml [key=value ...]`, also under `accelerate launch -m` and `torchrun -m`."""

import sys

from pluralign.train.run import main

if __name__ == "__main__":
    sys.exit(main())
