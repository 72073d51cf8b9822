go test fuzz v1
[]byte("\n\a\x12\x05\b\x99\bP\x00")
