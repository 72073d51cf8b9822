package spec

// RLEv2Widths maps the 5-bit width code of integer RLE v2 headers to a bit
// width. Writer and reader share it: the two must agree bit for bit.
var RLEv2Widths = [32]uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 26, 28, 30, 32, 40, 48, 56, 64}

// ClosestFixedBits rounds a bit width up to one that RLE v2's width table
// can express (patch lists are packed at such a width). Widths up to 24 are
// all expressible; the table marks the odd ones deprecated, but every reader
// decodes them and Apache ORC's Java writer still writes them.
func ClosestFixedBits(n int) int {
	switch {
	case n <= 1:
		return 1
	case n <= 24:
		return n
	case n <= 26:
		return 26
	case n <= 28:
		return 28
	case n <= 30:
		return 30
	case n <= 32:
		return 32
	case n <= 40:
		return 40
	case n <= 48:
		return 48
	case n <= 56:
		return 56
	}
	return 64
}

// EncodeWidth maps a width returned by ClosestFixedBits to its 5-bit code.
func EncodeWidth(n int) int {
	switch {
	case n <= 24:
		return n - 1
	case n == 26:
		return 24
	case n == 28:
		return 25
	case n == 30:
		return 26
	case n == 32:
		return 27
	case n == 40:
		return 28
	case n == 48:
		return 29
	case n == 56:
		return 30
	}
	return 31
}
