package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Unquote decodes the raw content of a JSON string (what Scan returns for
// a String, without the quotes) the way encoding/json does: escapes are
// decoded, a \u escape that is half of a surrogate pair without its other
// half becomes U+FFFD, and so does each byte of invalid UTF-8. The result
// is a new slice. err is a *SyntaxError, with an Offset into raw, when raw
// is not valid string content (a bad escape, a control character or an
// unescaped quote).
func Unquote(raw []byte) ([]byte, error) {
	out := make([]byte, 0, len(raw))
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(raw); {
		c := raw[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '\\' && c != '"' {
			out = append(out, c)
			i++
			continue
		}
		u, next, err := unit(raw, i, &buf)
		if err != nil {
			return nil, err
		}
		out = append(out, u...)
		i = next
	}
	return out, nil
}

// unquotedEqual reports whether raw, decoded as by Unquote, equals key, or
// with fold equals it but for the case of ASCII letters. It does not
// allocate.
func unquotedEqual(raw []byte, key string, fold bool) bool {
	var buf [utf8.UTFMax]byte
	k := 0
	for i := 0; i < len(raw); {
		u, next, err := unit(raw, i, &buf)
		if err != nil || len(key)-k < len(u) {
			return false
		}
		// A folded letter is one byte, so comparing unit by unit folds
		// no byte of a multi-byte character into another.
		if fold && len(u) == 1 {
			if lowerASCII(u[0]) != lowerASCII(key[k]) {
				return false
			}
		} else if string(u) != key[k:k+len(u)] {
			return false
		}
		k += len(u)
		i = next
	}
	return k == len(key)
}

// unit decodes the character or escape at raw[i] and returns its UTF-8
// bytes (in buf or in raw) and the index after it.
func unit(raw []byte, i int, buf *[utf8.UTFMax]byte) ([]byte, int, error) {
	c := raw[i]
	switch {
	case c == '\\':
		if i+1 >= len(raw) {
			return nil, i, &SyntaxError{Offset: i + 1, Msg: "unexpected end of string"}
		}
		switch e := raw[i+1]; e {
		case '"', '\\', '/':
			buf[0] = e
		case 'b':
			buf[0] = '\b'
		case 'f':
			buf[0] = '\f'
		case 'n':
			buf[0] = '\n'
		case 'r':
			buf[0] = '\r'
		case 't':
			buf[0] = '\t'
		case 'u':
			r, err := u4(raw, i)
			if err != nil {
				return nil, i, err
			}
			next := i + 6
			if utf16.IsSurrogate(r) {
				// Only a high half followed by an escaped low half
				// makes a character; anything else is U+FFFD and the
				// next escape is decoded on its own.
				if r2, err := u4(raw, next); err == nil {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						return buf[:utf8.EncodeRune(buf[:], d)], next + 6, nil
					}
				}
				r = utf8.RuneError
			}
			return buf[:utf8.EncodeRune(buf[:], r)], next, nil
		default:
			return nil, i + 1, errChar(raw, i+1, "in string escape code")
		}
		return buf[:1], i + 2, nil
	case c == '"' || c < 0x20:
		return nil, i, errChar(raw, i, "in string literal")
	case c < utf8.RuneSelf:
		return raw[i : i+1], i + 1, nil
	}
	r, size := utf8.DecodeRune(raw[i:])
	if r == utf8.RuneError && size == 1 {
		return buf[:utf8.EncodeRune(buf[:], r)], i + 1, nil
	}
	return raw[i : i+size], i + size, nil
}

// u4 decodes the \uXXXX escape at raw[i].
func u4(raw []byte, i int) (rune, error) {
	if i+1 >= len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
		return 0, &SyntaxError{Offset: i, Msg: "no \\u escape"}
	}
	var r rune
	for k := i + 2; k < i+6; k++ {
		if k >= len(raw) {
			return 0, &SyntaxError{Offset: k, Msg: "unexpected end of string"}
		}
		h := unhex(raw[k])
		if h < 0 {
			return 0, errChar(raw, k, "in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(h)
	}
	return r, nil
}
