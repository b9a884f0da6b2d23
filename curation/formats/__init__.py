"""Input and output formats: each module registers its readers (`register_reader`) and writers on import.

The registry imports every module of this package (and of `curation.steps`) on first use, so adding a
format is one file here plus its test; `steps/` holds only pipeline steps.
"""
