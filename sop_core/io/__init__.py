"""Files in and out: the import of ERP extracts, the meeting pack and deck, the demo company."""
