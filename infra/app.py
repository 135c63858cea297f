#!/usr/bin/env python3
"""The CDK app: `npx cdk synth -c env=Dev` (or Prod) → AIStudio-*Stack-Dev.

The stacks live in the `stacks` package (not here) because the Flask application is also a
module named `app`, and tests import both.
"""

from stacks.assembly import build_app

if __name__ == "__main__":
    build_app().synth()
