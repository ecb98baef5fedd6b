// Package wording formats numbers as people read them in reasons and
// notifications: follower counts with thousands separators. Reach,
// escalation and the notifier all say "332,000 followers"; this says it the
// same way everywhere.
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
