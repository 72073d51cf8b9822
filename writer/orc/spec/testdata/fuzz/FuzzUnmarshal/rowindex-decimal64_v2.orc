go test fuzz v1
[]byte("\n\x06\x12\x04\b\nP\x00")
