package salesforcetest

import "strings"

// base62 digits, in Salesforce's order.
const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// suffixAlphabet encodes the case of 5 characters in one suffix character.
const suffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// podID is the instance part of every ID the simulator issues.
const podID = "5g"

// newRecordID returns the 18-character ID of the n-th record of an object
// with the given key prefix: prefix (3), pod (2), reserved "0", a base-62
// counter (9) and the case-checksum suffix (3).
func newRecordID(prefix string, n int64) string {
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = base62[n%62]
		n /= 62
	}
	id15 := prefix + podID + "0" + string(digits[:])
	return id15 + checksum(id15)
}

// checksum returns the 3-character suffix that turns a 15-character,
// case-sensitive ID into its case-insensitive 18-character form.
func checksum(id15 string) string {
	var b [3]byte
	for i := range 3 {
		flags := 0
		for j := range 5 {
			c := id15[i*5+j]
			if c >= 'A' && c <= 'Z' {
				flags |= 1 << j
			}
		}
		b[i] = suffixAlphabet[flags]
	}
	return string(b[:])
}

// canonicalID returns the 18-character form of a 15- or 18-character ID,
// or false when id is not a well-formed Salesforce ID. 18-character IDs are
// case-insensitive: the suffix restores the case of the first 15.
func canonicalID(id string) (string, bool) {
	if !alnum(id) {
		return "", false
	}
	switch len(id) {
	case 15:
		return id + checksum(id), true
	case 18:
		b := []byte(id[:15])
		for i := range 3 {
			flags := strings.IndexByte(suffixAlphabet, upper(id[15+i]))
			if flags < 0 {
				return "", false
			}
			for j := range 5 {
				c := b[i*5+j]
				if flags&(1<<j) != 0 {
					b[i*5+j] = upper(c)
				} else if c >= 'A' && c <= 'Z' {
					b[i*5+j] = c + ('a' - 'A')
				}
			}
		}
		id15 := string(b)
		if !strings.EqualFold(checksum(id15), id[15:]) {
			return "", false
		}
		return id15 + checksum(id15), true
	}
	return "", false
}

// upper returns the upper case of an ASCII letter, or c.
func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// alnum reports whether s is non-empty and holds only ASCII letters and digits.
func alnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
