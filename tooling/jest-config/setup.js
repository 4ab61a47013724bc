// Runs in every test file before its tests.
