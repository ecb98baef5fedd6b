package policy

import (
	"strconv"
	"time"
)

// Ratio formats a multiple with one decimal, "1.6x"; large multiples drop the
// decimal ("12x") because nobody reads "12.3x" differently.
func Ratio(r float64) string { return string(appendRatio(nil, r)) }

func appendRatio(b []byte, r float64) []byte {
	precision := 1
	if r >= 10 {
		precision = 0
	}
	b = strconv.AppendFloat(b, r, 'f', precision, 64)
	return append(b, 'x')
}

var ordinals = [...]string{"zeroth", "first", "second", "third", "fourth", "fifth",
	"sixth", "seventh", "eighth", "ninth", "tenth"}

// Ordinal spells small ordinals as words ("third") and larger ones with a
// suffix ("11th", "22nd").
func Ordinal(n int64) string {
	if n >= 0 && n < int64(len(ordinals)) {
		return ordinals[n]
	}
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.FormatInt(n, 10) + suffix
}

// Span formats a duration the way a person writes a window: "24h", "7d",
// "90m", "45s". Durations that are not whole seconds fall back to Go's form.
func Span(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
