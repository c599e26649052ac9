package expr

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	good := []struct {
		in   string
		want time.Time
	}{
		{`0`, time.Unix(0, 0).UTC()},
		{`1763805600`, time.Unix(1763805600, 0).UTC()},
		{`2026-11-22`, pxDay(2026, 11, 22)},
		{`2026-11-22T10:00:00Z`, time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)},
		{`2026-11-22T10:00:00+02:00`, time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)},
		{`2026-11-22T10:00:00.25Z`, time.Date(2026, 11, 22, 10, 0, 0, 250e6, time.UTC)},
		{`1970-01-01`, time.Unix(0, 0).UTC()},
		{`9999-12-31`, pxDay(9999, 12, 31)},
		{`253402300799`, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
	}
	for _, tc := range good {
		got, err := ParseTime(tc.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseTime(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) not in UTC", tc.in)
		}
		back, err := ParseTime(FormatTime(got))
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("time round trip %q via %q: %v %v", tc.in, FormatTime(got), back, err)
		}
	}
	bad := []struct{ in, msg string }{
		{``, `invalid time '': use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{`2026-13-01`, `invalid time '2026-13-01': use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{`2026-02-30`, `invalid time '2026-02-30': use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{`2026-11-22T10:00:00`, `invalid time '2026-11-22T10:00:00': use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{`-1`, `invalid time '-1': use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{`1.5`, `invalid time '1.5': use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{`yesterday`, `invalid time 'yesterday': use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{"x\ny", `invalid time "x\ny": use Unix seconds, RFC 3339 or YYYY-MM-DD`},
		{`253402300800`, `time '253402300800' is out of range: use a time from 1970-01-01 to 9999-12-31`},
		{`99999999999999999999`, `time '99999999999999999999' is out of range: use a time from 1970-01-01 to 9999-12-31`},
		{`1969-12-31`, `time '1969-12-31' is out of range: use a time from 1970-01-01 to 9999-12-31`},
		{`1970-01-01T00:00:00+01:00`, `time '1970-01-01T00:00:00+01:00' is out of range: use a time from 1970-01-01 to 9999-12-31`},
		{`9999-12-31T23:00:00-02:00`, `time '9999-12-31T23:00:00-02:00' is out of range: use a time from 1970-01-01 to 9999-12-31`},
	}
	for _, tc := range bad {
		_, err := ParseTime(tc.in)
		var e *Error
		if !errors.As(err, &e) || e.Code != "ERR" || e.Msg != tc.msg {
			t.Errorf("ParseTime(%q) = %v, want ERR %s", tc.in, err, tc.msg)
		}
	}
}

func TestParseDuration(t *testing.T) {
	good := []struct {
		in   string
		want time.Duration
	}{
		{`1m`, time.Minute},
		{`90m`, 90 * time.Minute},
		{`36h`, 36 * time.Hour},
		{`1d`, pxDayDur},
		{`365d`, 365 * pxDayDur},
		{`2w`, 14 * pxDayDur},
		{`007d`, 7 * pxDayDur},
		{`15250w`, 15250 * 7 * pxDayDur},
	}
	for _, tc := range good {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
		back, err := ParseDuration(FormatDuration(got))
		if err != nil || back != got {
			t.Errorf("duration round trip %q via %q", tc.in, FormatDuration(got))
		}
	}
	bad := []struct{ in, msg string }{
		{``, `invalid duration '': use a positive number followed by m, h, d or w (e.g. 90d)`},
		{`d`, `invalid duration 'd': use a positive number followed by m, h, d or w (e.g. 90d)`},
		{`7`, `invalid duration '7': use a positive number followed by m, h, d or w (e.g. 90d)`},
		{`0d`, `invalid duration '0d': a duration must be positive`},
		{`-3d`, `invalid duration '-3d': a duration must be positive`},
		{`+3d`, `invalid duration '+3d': use a positive number followed by m, h, d or w (e.g. 90d)`},
		{`3s`, `invalid duration '3s': the unit must be m, h, d or w (e.g. 90d)`},
		{`3D`, `invalid duration '3D': the unit must be m, h, d or w (e.g. 90d)`},
		{`1y`, `invalid duration '1y': the unit must be m, h, d or w (e.g. 90d) (a year: write 365d)`},
		{`1.5d`, `invalid duration '1.5d': use a positive number followed by m, h, d or w (e.g. 90d)`},
		{`7 d`, `invalid duration '7 d': use a positive number followed by m, h, d or w (e.g. 90d)`},
		{`15251w`, `invalid duration '15251w': too long`},
		{`99999999999999999999m`, `invalid duration '99999999999999999999m': too long`},
	}
	for _, tc := range bad {
		_, err := ParseDuration(tc.in)
		var e *Error
		if !errors.As(err, &e) || e.Code != "ERR" || e.Msg != tc.msg {
			t.Errorf("ParseDuration(%q) = %v, want ERR %s", tc.in, err, tc.msg)
		}
	}
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 90 * time.Minute: "90m", time.Hour: "1h", 36 * time.Hour: "36h",
		pxDayDur: "1d", 7 * pxDayDur: "1w", 10 * pxDayDur: "10d", 365 * pxDayDur: "365d", 364 * pxDayDur: "52w",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
