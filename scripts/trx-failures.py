#!/usr/bin/env python3
"""Prints 'failed: <test>' and the first two lines of its message for each failed test in a .trx file."""
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"

for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        print(f"failed: cannot read {path}: {error}")
        continue
    for result in root.iter(NS + "UnitTestResult"):
        if result.get("outcome") != "Failed":
            continue
        print(f"failed: {result.get('testName')}")
        message = result.find(f"{NS}Output/{NS}ErrorInfo/{NS}Message")
        lines = [line.strip() for line in (message.text or "").splitlines() if line.strip()] if message is not None else []
        for line in lines[:2]:
            print(f"  {line[:300]}")
