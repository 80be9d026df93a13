"""Data the engine ships: the ICD-10-CM code set (icd10cm_codes.txt.gz, see claimflow/icd10cm.py)."""
