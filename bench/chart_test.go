package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestChartSVGParses(t *testing.T) {
	var c Chart
	c.Title = `segd & Redis <latency>`
	redisJSON := `{"entities": 1000, "classes": [
	  {"class": "ismember-1",
	   "segd":  {"commands": [{"command": "QUERY.ISMEMBER", "count": 10, "latency": {"p50_us": 900, "p90_us": 2000, "p99_us": 6000, "p999_us": 12000}}]},
	   "redis": {"commands": [{"command": "SISMEMBER", "count": 10, "latency": {"p50_us": 1000, "p90_us": 1500, "p99_us": 2100, "p999_us": 3000}}]}},
	  {"class": "count-3",
	   "segd":  {"commands": [{"command": "QUERY.COUNT", "count": 5, "latency": {"p50_us": 3000, "p90_us": 9000, "p99_us": 19000, "p999_us": 40000}}]},
	   "redis": {"commands": [{"command": "SINTERCARD", "count": 5, "latency": {"p50_us": 2.7e6, "p90_us": 3e6, "p99_us": 3.3e6, "p999_us": 3.3e6}}]}}]}`
	wireJSON := `{"entities": 1000, "runs": {"set": {"commands": [{"command": "ENT.SET", "count": 3, "latency": {"p50_us": 3300, "p90_us": 9000, "p99_us": 45000, "p999_us": 60000}}]}}}`
	for _, in := range []string{redisJSON, wireJSON} {
		n, err := c.AddChartJSON(strings.NewReader(in))
		if err != nil || n != 1000 {
			t.Fatalf("AddChartJSON = %d, %v", n, err)
		}
	}
	if len(c.Groups) != 3 || len(c.Groups[0].Series) != 2 || c.Groups[0].Series[1].Server != "Redis" {
		t.Fatalf("groups = %+v", c.Groups)
	}
	var buf bytes.Buffer
	if err := c.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&buf)
	var root string
	circles, diamonds := 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse: %v\n%s", err, buf.String())
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			switch se.Name.Local {
			case "circle":
				circles++
			case "rect":
				for _, a := range se.Attr {
					if a.Name.Local == "transform" {
						diamonds++
					}
				}
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q", root)
	}
	// 4 percentiles × 3 segd series + the legend's segd marker; 4 × 2 Redis + legend.
	if circles != 4*3+4+1 || diamonds != 4*2+1 {
		t.Errorf("circles %d diamonds %d", circles, diamonds)
	}
}

func TestChartRejectsEmpty(t *testing.T) {
	var c Chart
	if _, err := c.AddChartJSON(strings.NewReader(`{"entities": 5}`)); err == nil {
		t.Error("no error for a report without latencies")
	}
	if err := c.WriteSVG(io.Discard); err == nil {
		t.Error("no error for an empty chart")
	}
}
