import os
import sys

# Test helpers (tests/realenv.py) import as plain modules from every test folder.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
