package index_test

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/segd-db/segd/index"
)

// plantedEngine is a random population in which a hidden rule defines the
// segment "planted": country PT, the surf interest and tier gold; "young"
// is an age range, for the INT buckets.
//
// With cities > 0 each customer also lives in one of that many cities: noise
// that a small segment may hold by chance (a lookalike test leaves it out).
func plantedEngine(t *testing.T, cities int) (*index.Engine, map[string]int) {
	t.Helper()
	e := index.New()
	r := rand.New(rand.NewSource(7))
	countries := []string{"PT", "FR", "DE", "US", "BR"}
	interests := []string{"surf", "golf", "books", "wine", "tech", "art", "yoga", "food", "kids", "pets"}
	parts := map[string]int{} // how many of the rule's three parts each key satisfies
	for i := 0; i < 4000; i++ {
		key := fmt.Sprintf("u:%d", i)
		country := countries[r.Intn(len(countries))]
		age := 18 + r.Intn(63)
		tier := []string{"gold", "silver", "bronze", "basic"}[r.Intn(4)]
		a, b := interests[r.Intn(len(interests))], interests[r.Intn(len(interests))]
		mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: key, Pairs: []index.Pair{
			{Field: "country", Value: country}, {Field: "age", Value: fmt.Sprint(age)},
			{Field: "gender", Value: []string{"F", "M"}[r.Intn(2)]}, {Field: "tier", Value: tier}}})
		if cities > 0 {
			mustApply(t, e, &index.Mutation{Op: index.OpSet, Key: key, Pairs: []index.Pair{{Field: "city", Value: fmt.Sprintf("city%d", r.Intn(cities))}}})
		}
		mustApply(t, e, &index.Mutation{Op: index.OpAdd, Key: key, Field: "interests", Values: []string{a, b}})
		n := 0
		if country == "PT" {
			n++
		}
		if a == "surf" || b == "surf" {
			n++
		}
		if tier == "gold" {
			n++
		}
		parts[key] = n
	}
	mustApply(t, e, &index.Mutation{Op: index.OpSegmentCreate, Key: "planted", Values: []string{"country:PT AND interests:surf AND tier:gold"}})
	mustApply(t, e, &index.Mutation{Op: index.OpSegmentCreate, Key: "young", Values: []string{"age:[20 TO 30]"}})
	return e, parts
}

// TestProfilePlanted: the persona ranks the hidden rule's values first.
func TestProfilePlanted(t *testing.T) {
	e, _ := plantedEngine(t, 150)
	prof, err := e.Profile("planted", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(prof) < 3 {
		t.Fatalf("profile %+v", prof)
	}
	top := map[string]bool{}
	for _, p := range prof[:3] {
		top[p.Field] = true
		switch p.Field {
		case "country":
			if p.Value != "PT" {
				t.Errorf("top country value %q", p.Value)
			}
		case "interests":
			if p.Value != "surf" {
				t.Errorf("top interest %q", p.Value)
			}
		case "tier":
			if p.Value != "gold" {
				t.Errorf("top tier %q", p.Value)
			}
		}
		if p.ShareInSegment != 1 || p.Lift <= 2 {
			t.Errorf("rule value %+v: every member holds it, with a high lift", p)
		}
	}
	if !top["country"] || !top["interests"] || !top["tier"] {
		t.Errorf("top 3 of the profile = %+v, want the rule's country, interest and age", prof[:3])
	}
	for i := 1; i < len(prof); i++ {
		if prof[i].Lift > prof[i-1].Lift {
			t.Fatalf("profile not sorted by lift at %d", i)
		}
	}
	card, _ := e.SegmentCard("planted")
	for _, p := range prof {
		if p.InSegment < max(10, (card+99)/100) {
			t.Errorf("%+v is below the minimum support", p)
		}
	}
	// INT fields are cut into quantile buckets: those inside the age range
	// of "young" lead its profile; a bucket straddling its edge trails.
	young, err := e.Profile("young", 0, nil)
	if err != nil || len(young) == 0 {
		t.Fatalf("young: %v %v", young, err)
	}
	for i, p := range young {
		if p.Field != "age" {
			if i == 0 {
				t.Errorf("young's profile starts with %+v", p)
			}
			continue
		}
		var lo, hi int
		if _, err := fmt.Sscanf(p.Value, "[%d TO %d]", &lo, &hi); err != nil {
			t.Fatalf("age bucket %q", p.Value)
		}
		inside, outside := lo >= 20 && hi <= 30, hi < 20 || lo > 30
		if (inside && p.Lift < 3) || (outside && p.Lift >= 1) {
			t.Errorf("young's age bucket %+v: buckets inside 20..30 have a high lift, those outside none", p)
		}
	}
	// Every entry's counts are exact, whichever way they were counted (a
	// city has 150 values: counted by walking the members' ordinals).
	type profiled struct {
		seg string
		p   index.ProfileEntry
	}
	var all []profiled
	for _, p := range prof {
		all = append(all, profiled{"planted", p})
	}
	for _, p := range young {
		all = append(all, profiled{"young", p})
	}
	for _, x := range all {
		seg, p := x.seg, x.p
		pred := p.Field + ":" + p.Value
		in, err := e.Count("@"+seg+" AND "+pred, time.Time{})
		all, _ := e.Count(pred, time.Time{})
		card, _ := e.SegmentCard(seg)
		if err != nil || in != p.InSegment || p.ShareOverall != float64(all)/4000 || p.ShareInSegment != float64(in)/float64(card) {
			t.Errorf("%s %+v: QUERY.COUNT says %d in the segment, %d overall (%v)", seg, p, in, all, err)
		}
	}
	// FIELDS and LIMIT.
	only, err := e.Profile("planted", 2, []string{"gender", "interests"})
	if err != nil || len(only) != 2 || only[0].Field != "interests" || only[0].Value != "surf" {
		t.Errorf("FIELDS gender interests LIMIT 2 = %+v, %v", only, err)
	}
	if _, err := e.Profile("nosuch", 0, nil); err == nil || !strings.Contains(err.Error(), "unknown segment") {
		t.Errorf("unknown segment: %v", err)
	}
}

// TestLookalikePlanted: non-members that satisfy two of the rule's three
// parts rank above every other non-member.
func TestLookalikePlanted(t *testing.T) {
	e, parts := plantedEngine(t, 0)
	near := 0
	for _, n := range parts {
		if n == 2 {
			near++
		}
	}
	got, err := e.Lookalike("planted", near, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != near {
		t.Fatalf("%d lookalikes, want %d", len(got), near)
	}
	for i, r := range got {
		if parts[r.Key] != 2 {
			t.Fatalf("lookalike %d %s (score %d) satisfies %d parts of the rule, want 2", i, r.Key, r.Value, parts[r.Key])
		}
		if in, _ := e.SegmentIsMember("planted", r.Key); in {
			t.Fatalf("lookalike %s is a member", r.Key)
		}
		if i > 0 && (r.Value > got[i-1].Value || (r.Value == got[i-1].Value && r.Key < got[i-1].Key)) {
			t.Fatalf("not best first, ties by key, at %d", i)
		}
	}
	again, _ := e.Lookalike("planted", near, "")
	if !reflect.DeepEqual(got, again) {
		t.Errorf("lookalike is not deterministic")
	}
	// WHERE restricts the candidates.
	fr, err := e.Lookalike("planted", 10, "country:FR")
	if err != nil || len(fr) != 10 {
		t.Fatalf("WHERE country:FR: %v %v", fr, err)
	}
	for _, r := range fr {
		if ok, _ := e.IsMember("country:FR", r.Key, time.Time{}); !ok {
			t.Errorf("%s is not in country:FR", r.Key)
		}
	}
}

func TestSegmentSample(t *testing.T) {
	e, _ := plantedEngine(t, 0)
	card, _ := e.SegmentCard("planted")
	a, err := e.SegmentSample("planted", 10, 1)
	if err != nil || len(a) != 10 {
		t.Fatalf("sample %v %v", a, err)
	}
	b, _ := e.SegmentSample("planted", 10, 1)
	c, _ := e.SegmentSample("planted", 10, 2)
	if !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
		t.Errorf("same seed must give the same sample, another seed another: %v %v %v", a, b, c)
	}
	seen := map[string]bool{}
	for _, k := range a {
		if in, _ := e.SegmentIsMember("planted", k); !in || seen[k] {
			t.Errorf("%s: not a member or drawn twice", k)
		}
		seen[k] = true
	}
	all, _ := e.SegmentSample("planted", int(card)+5, 1)
	if uint64(len(all)) != card {
		t.Errorf("COUNT above the cardinality gives %d of %d", len(all), card)
	}
	// Uniform: over many seeds every member is drawn about as often.
	hits := map[string]int{}
	for seed := uint64(0); seed < 2000; seed++ {
		s, _ := e.SegmentSample("planted", 5, seed)
		for _, k := range s {
			hits[k]++
		}
	}
	want := 2000 * 5 / float64(card)
	for k, n := range hits {
		if float64(n) < want/3 || float64(n) > want*3 {
			t.Errorf("%s drawn %d times, expected about %.0f", k, n, want)
		}
	}
}
