package expr

import (
	"fmt"
	"strconv"
	"time"
)

// Times and durations as the wire API writes them (SPEC §2).
//
// A time is Unix seconds (a decimal integer), RFC 3339
// ("2026-11-22T10:00:00Z", an offset or fractional seconds allowed) or a date
// ("2026-11-22", midnight UTC). Times are returned in UTC and must lie between
// 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z, so that every time
// prints back (FormatTime) as text ParseTime accepts.
//
// A duration is a positive whole number followed by m (minutes), h (hours),
// d (days of 24 hours) or w (weeks), lower case: "90d", "36h", "2w".

var (
	minExprTime = time.Unix(0, 0).UTC()
	maxExprTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// ParseTime reads a time: Unix seconds, RFC 3339 or YYYY-MM-DD (midnight UTC).
// Errors are *Error with code ERR.
func ParseTime(s string) (time.Time, error) {
	var t time.Time
	switch {
	case s == "":
		return time.Time{}, errorf("invalid time '': use Unix seconds, RFC 3339 or YYYY-MM-DD")
	case allASCIIDigits(s):
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > maxExprTime.Unix() {
			return time.Time{}, timeRangeError(s)
		}
		return time.Unix(n, 0).UTC(), nil
	case len(s) == len("2006-01-02"):
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return time.Time{}, errorf("invalid time %s: use Unix seconds, RFC 3339 or YYYY-MM-DD", showText(s))
		}
		t = d
	default:
		d, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, errorf("invalid time %s: use Unix seconds, RFC 3339 or YYYY-MM-DD", showText(s))
		}
		t = d
	}
	t = t.UTC()
	if t.Before(minExprTime) || t.After(maxExprTime) {
		return time.Time{}, timeRangeError(s)
	}
	return t, nil
}

func timeRangeError(s string) error {
	hint := ""
	if allASCIIDigits(s) && len(s) >= 13 && len(s) <= 15 {
		hint = " (it looks like milliseconds: Unix time here is in seconds, divide by 1000)"
	}
	return errorf("time %s is out of range: use a time from 1970-01-01 to 9999-12-31%s", showText(s), hint)
}

// FormatTime prints t (in UTC) as text ParseTime reads back to the same
// instant: "2026-11-22" at midnight UTC, RFC 3339 otherwise.
func FormatTime(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format(time.RFC3339Nano)
}

var durationUnits = [...]struct {
	unit byte
	d    time.Duration
}{
	{'w', 7 * 24 * time.Hour},
	{'d', 24 * time.Hour},
	{'h', time.Hour},
	{'m', time.Minute},
}

// ParseDuration reads a duration: a positive whole number followed by m, h, d
// or w. Errors are *Error with code ERR.
func ParseDuration(s string) (time.Duration, error) {
	if len(s) < 2 || !allASCIIDigits(s[:len(s)-1]) {
		if len(s) > 0 && s[0] == '-' {
			return 0, errorf("invalid duration %s: a duration must be positive", showText(s))
		}
		return 0, errorf("invalid duration %s: use a positive number followed by m, h, d or w (e.g. 90d)", showText(s))
	}
	var unit time.Duration
	for _, u := range durationUnits {
		if s[len(s)-1] == u.unit {
			unit = u.d
		}
	}
	if unit == 0 {
		hint := ""
		if n, err := strconv.ParseInt(s[:len(s)-1], 10, 32); err == nil && s[len(s)-1] == 'y' {
			hint = fmt.Sprintf(" (a year: write %dd)", n*365)
		}
		return 0, errorf("invalid duration %s: the unit must be m, h, d or w (e.g. 90d)%s", showText(s), hint)
	}
	n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
	if err != nil || n > int64(1<<63-1)/int64(unit) {
		return 0, errorf("invalid duration %s: too long", showText(s))
	}
	if n == 0 {
		return 0, errorf("invalid duration %s: a duration must be positive", showText(s))
	}
	return time.Duration(n) * unit, nil
}

// FormatDuration prints d in its largest exact unit ("1w", "36h"), as text
// ParseDuration reads back. A duration that is not a positive whole number of
// minutes (never produced by ParseDuration) prints in Go's notation.
func FormatDuration(d time.Duration) string {
	if d > 0 {
		for _, u := range durationUnits {
			if d%u.d == 0 {
				return strconv.FormatInt(int64(d/u.d), 10) + string(u.unit)
			}
		}
	}
	return d.String()
}

func allASCIIDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
