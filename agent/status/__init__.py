"""Status: build this router's report and publish it to the status branch."""
