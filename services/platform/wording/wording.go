// Package wording says numbers and the contract's enums as people read
// them in reasons, notifications and pages: "332,000 followers", "critical",
// "rival". Reach, escalation, the notifier and the console say them the same
// way everywhere.
package wording

import "strconv"

// Thousands formats n with commas between groups of three digits: 332000
// becomes "332,000".
func Thousands(n int64) string { return string(AppendThousands(nil, n)) }

// AppendThousands appends Thousands(n) to b without allocating beyond b.
func AppendThousands(b []byte, n int64) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], n, 10)
	if n < 0 {
		b, d = append(b, '-'), d[1:]
	}
	head := len(d) % 3
	if head == 0 {
		head = 3
	}
	b = append(b, d[:min(head, len(d))]...)
	for i := head; i < len(d); i += 3 {
		b = append(b, ',')
		b = append(b, d[i:i+3]...)
	}
	return b
}

// Reshared says how fast a post spreads, from its reshares in the last
// hour: "reshared 240 times in the last hour".
func Reshared(n int64) string {
	if n == 1 {
		return "reshared once in the last hour"
	}
	return "reshared " + Thousands(n) + " times in the last hour"
}
