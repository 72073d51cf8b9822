go test fuzz v1
[]byte("\n\a\x12\x05\b\x90NP\x00")
