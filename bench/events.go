package bench

// A year of behaviour per customer: purchases by category, the spend of each
// purchase, cart adds, coupon redemptions and (optionally) page views, as
// EVENT fields. Like the profiles, customer i's events are a pure function of
// the seed, i and the end of the year, generated on the fly.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// The EVENT fields of the generated year.
const (
	FieldPurchase = "purchase"      // value: category; ~30 a year
	FieldSpend    = "spend"         // value: category; AMOUNT: price in cents; one per purchase
	FieldCartAdd  = "cart_add"      // no value; ~10 a year
	FieldCoupon   = "coupon_redeem" // value: coupon kind; ~2 a year
	FieldPageView = "page_view"     // value: category; ~40 a year, only with EventOptions.PageViews
)

// EventFields lists the event fields in the order Events emits them.
var EventFields = []string{FieldPurchase, FieldSpend, FieldCartAdd, FieldCoupon, FieldPageView}

// Categories are the 30 product categories, most popular first (Zipf, s=1).
// A customer's purchases lean towards 1–3 favourite categories of their own.
var Categories = []string{
	"apparel", "shoes", "beauty", "grocery", "electronics", "home", "toys", "sports", "books", "health",
	"jewelry", "garden", "pets", "baby", "kitchen", "furniture", "accessories", "outdoor", "automotive", "music",
	"games", "office", "crafts", "luggage", "watches", "tools", "lighting", "party", "stationery", "software",
}

// Categories used by the standard event queries: the most popular one, and
// the median one by popularity (rank 15 of 30).
const (
	TopCategory    = "apparel"
	MedianCategory = "kitchen"
)

// categoryPrice is each category's median price in cents; prices spread
// around it log-normally.
var categoryPrice = []float64{
	3500, 6000, 2500, 4000, 15000, 4500, 2500, 5000, 1500, 2000,
	12000, 4000, 3000, 3000, 3500, 25000, 2500, 7000, 6000, 1500,
	4500, 2000, 1500, 11000, 18000, 5500, 4000, 1500, 1000, 6000,
}

// CouponKinds are the values of coupon_redeem, most used first.
var CouponKinds = []string{"pct10", "freeship", "pct20", "welcome", "bogo"}

// EventClock is the fixed "now" of the event benchmarks: the generated year
// ends here, and the engine's clock is set to it so that every window
// (IN 7d, IN 90d …) covers the same data on every run and every day.
var EventClock = time.Date(2026, 12, 31, 20, 0, 0, 0, time.UTC)

// EventsVersion names the generator's output: bump it whenever Events
// changes what it generates, so cached data sets are rebuilt.
const EventsVersion = 1

// The model's rates and shapes.
const (
	dormantShare     = 0.15 // customers with no activity at all in the year
	purchasesPerYear = 30.0 // mean over all customers, dormant included
	cartAddsPerYear  = 10.0
	couponsPerYear   = 2.0
	pageViewsPerYear = 40.0
	activitySigma    = 1.1  // log-normal spread of a customer's activity
	maxActivity      = 25.0 // cap: at most ~25× the mean customer
	joinedShare      = 0.15 // became customers during the year
	churnedShare     = 0.20 // stopped buying some time in the year
	recentShare      = 0.30 // events drawn near the end of the active period
	recentMean       = 30 * 86400
	favouriteShare   = 0.6 // purchases and views in a favourite category
)

// EventOptions say what a customer's year holds and when it ends.
type EventOptions struct {
	End       time.Time // the year is the 365 UTC days ending with End's day; no event is after End
	PageViews bool      // also generate page_view events
}

// Event is one generated event: ENT.TRACK key Term AT At [AMOUNT Amount].
type Event struct {
	Field  string
	Value  string // "" for none
	Term   string // Field, or Field:Value
	At     int64  // Unix seconds
	Amount int64  // 0 means 1
}

// eventTables are the static strings the generator hands out, so that an
// event costs no allocation.
type eventTables struct {
	cats      *zipf
	catIndex  map[string]int
	coupons   *zipf
	purchase  []string // "purchase:<category>"
	spend     []string
	pageView  []string
	couponFor map[string]string // "coupon_redeem:<kind>"
}

var evTables = func() *eventTables {
	t := &eventTables{cats: newZipfValues(Categories, 1.0), coupons: newZipfValues(CouponKinds, 1.0),
		catIndex: map[string]int{}, couponFor: map[string]string{}}
	for i, c := range Categories {
		t.catIndex[c] = i
		t.purchase = append(t.purchase, FieldPurchase+":"+c)
		t.spend = append(t.spend, FieldSpend+":"+c)
		t.pageView = append(t.pageView, FieldPageView+":"+c)
	}
	for _, k := range CouponKinds {
		t.couponFor[k] = FieldCoupon + ":" + k
	}
	return t
}()

// eventStream separates the events' random stream from the profile's, so
// that the profiles are the same with or without events.
const eventStream = 0xD6E8FEB86659FD93

// Events appends customer i's year of events to dst and returns it, grouped
// by field in the order of EventFields (the spend events in the order of
// their purchases). Dormant customers (15%) have none.
func (p *Population) Events(i int, o EventOptions, dst []Event) []Event {
	r := rng{s: (p.Seed*0x9E3779B97F4A7C15 ^ uint64(i)*0xBF58476D1CE4E5B9) ^ eventStream}
	r.next()
	if r.float() < dormantShare {
		return dst
	}
	t := evTables
	end := o.End.Unix()
	day := int64(86400)
	oldest := floorDiv(end, day)*day - 364*day // start of the first of the 365 days
	// The customer's active period, in seconds before end: [lo, hi].
	hi := end - oldest
	if r.float() < joinedShare {
		hi = int64(r.float() * float64(hi))
	}
	lo := int64(0)
	if r.float() < churnedShare {
		lo = int64(r.float() * float64(hi))
	}
	if hi-lo < 14*day { // at least two weeks of activity
		hi = min(end-oldest, lo+14*day)
		lo = max(0, hi-14*day)
	}
	when := func() int64 {
		back := lo + int64(r.float()*float64(hi-lo))
		if r.float() < recentShare {
			if b := lo + int64(-math.Log(1-r.float())*recentMean); b <= hi {
				back = b
			}
		}
		return end - back
	}
	// Activity: log-normal around 1, scaled so that the mean over all
	// customers (dormant ones included) is 1.
	a := math.Exp(activitySigma*r.norm()-activitySigma*activitySigma/2) / (1 - dormantShare)
	a = min(a, maxActivity)
	var fav [3]int
	nfav := 1 + int(r.uint64()%3)
	for k := 0; k < nfav; k++ {
		fav[k] = t.catIndex[t.cats.sample(&r)]
	}
	category := func() int {
		if r.float() < favouriteShare {
			return fav[int(r.uint64()%uint64(nfav))]
		}
		return t.catIndex[t.cats.sample(&r)]
	}

	// Purchases, then the spend of each.
	first := len(dst)
	n := r.poisson(purchasesPerYear * a)
	for k := 0; k < n; k++ {
		c := category()
		dst = append(dst, Event{Field: FieldPurchase, Value: Categories[c], Term: t.purchase[c], At: when()})
	}
	purchases := dst[first:len(dst):len(dst)]
	for _, ev := range purchases {
		c := t.catIndex[ev.Value]
		price := int64(categoryPrice[c] * math.Exp(0.6*r.norm()))
		dst = append(dst, Event{Field: FieldSpend, Value: ev.Value, Term: t.spend[c], At: ev.At, Amount: max(price, 99)})
	}
	// Near a purchase: up to two hours before it, never before the year.
	nearPurchase := func(share float64) int64 {
		if len(purchases) > 0 && r.float() < share {
			at := purchases[r.uint64()%uint64(len(purchases))].At - int64(r.float()*7200)
			return max(at, oldest)
		}
		return when()
	}
	// Cart adds: half of them on the way to a purchase, half abandoned.
	for k, n := 0, r.poisson(cartAddsPerYear*a); k < n; k++ {
		dst = append(dst, Event{Field: FieldCartAdd, Term: FieldCartAdd, At: nearPurchase(0.5)})
	}
	// Coupons: some customers hunt them, most rarely use one.
	hunter := math.Exp(0.8*r.norm() - 0.32)
	for k, n := 0, r.poisson(couponsPerYear*a*hunter); k < n; k++ {
		kind := t.coupons.sample(&r)
		dst = append(dst, Event{Field: FieldCoupon, Value: kind, Term: t.couponFor[kind], At: nearPurchase(0.8)})
	}
	if o.PageViews {
		for k, n := 0, r.poisson(pageViewsPerYear*a); k < n; k++ {
			c := category()
			dst = append(dst, Event{Field: FieldPageView, Value: Categories[c], Term: t.pageView[c], At: when()})
		}
	}
	return dst
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// poisson draws a Poisson count of mean l (normal approximation above 30).
func (r *rng) poisson(l float64) int {
	if l <= 0 {
		return 0
	}
	if l < 30 {
		limit, prod := math.Exp(-l), 1.0
		for k := 0; ; k++ {
			prod *= r.float()
			if prod <= limit {
				return k
			}
		}
	}
	return max(0, int(math.Round(l+math.Sqrt(l)*r.norm())))
}

// writeTrack writes ev for key u:k as ENT.TRACK u:k term AT at [AMOUNT n].
func writeTrack(c *Conn, k int, ev *Event, at int64) {
	if ev.Amount > 0 {
		c.Begin(7)
	} else {
		c.Begin(5)
	}
	c.Arg("ENT.TRACK")
	c.ArgKey("u:", int64(k))
	c.Arg(ev.Term)
	c.Arg("AT")
	c.ArgInt(at)
	if ev.Amount > 0 {
		c.Arg("AMOUNT")
		c.ArgInt(ev.Amount)
	}
}

// TrackCommands are customer i's events as ENT.TRACK commands (for tests and
// tools; LoadEvents writes them without building strings).
func (p *Population) TrackCommands(i int, o EventOptions) [][]string {
	var out [][]string
	for _, ev := range p.Events(i, o, nil) {
		cmd := []string{"ENT.TRACK", Key(i), ev.Term, "AT", strconv.FormatInt(ev.At, 10)}
		if ev.Amount > 0 {
			cmd = append(cmd, "AMOUNT", strconv.FormatInt(ev.Amount, 10))
		}
		out = append(out, cmd)
	}
	return out
}

// TrackOptions say which events LoadEvents sends, and when they happen.
type TrackOptions struct {
	EventOptions // the year ends at End, or now when it is zero
	// Live sends every event as happening now (AT the current second), the
	// way an application reports what its customers do, instead of at its
	// time in the year (a backfill or import). Live writes land in the
	// current day's, week's and 4-week block's buckets only.
	Live bool
	// Spread, when above Entities, spreads the customers sent over a larger
	// population: the i-th customer sent is u:(i·7919 mod Spread), so that a
	// short run touches customers all over a loaded data set.
	Spread int
	// Fields, when not empty, sends only the events of these fields.
	Fields []string
	// Days, when above 0, sends only the events of the last Days UTC days
	// of the year (the day holding End included).
	Days int
}

// keeper says which of a customer's events TrackOptions send.
func (t TrackOptions) keeper() func(ev *Event) bool {
	from := int64(math.MinInt64)
	if t.Days > 0 {
		from = DayStart(t.End, t.Days-1)
	}
	return func(ev *Event) bool {
		return ev.At >= from && (len(t.Fields) == 0 || slices.Contains(t.Fields, ev.Field))
	}
}

// DayStart is the start (Unix seconds) of the UTC day back days before
// the one holding end.
func DayStart(end time.Time, back int) int64 {
	return (floorDiv(end.Unix(), 86400) - int64(back)) * 86400
}

func (t TrackOptions) key(i int) int {
	if t.Spread > 0 {
		return int(uint64(i) * 7919 % uint64(t.Spread))
	}
	return i
}

// LoadEvents sends the year of events of o.Entities customers through
// pipelined connections as ENT.TRACK commands with AT (and AMOUNT for
// spend): the customers' own events, or with Live the same events as
// happening now. LoadResult.Commands is the number of events.
func LoadEvents(ctx context.Context, o LoadOptions, t TrackOptions) (LoadResult, error) {
	if t.End.IsZero() {
		t.End = time.Now()
	}
	if t.Spread > 0 && t.Spread < o.Entities {
		return LoadResult{}, fmt.Errorf("spread %d is smaller than the %d customers sent", t.Spread, o.Entities)
	}
	pop := NewPopulation(o.Seed)
	what := "track"
	if t.Live {
		what = "track live"
	}
	keep := t.keeper()
	return loadCustomers(ctx, o, what, func() customerWriter {
		var buf []Event
		return func(c *Conn, i int) int {
			k := t.key(i)
			buf = pop.Events(k, t.EventOptions, buf[:0])
			now := time.Now().Unix()
			n := 0
			for j := range buf {
				if !keep(&buf[j]) {
					continue
				}
				at := buf[j].At
				if t.Live {
					at = now
				}
				writeTrack(c, k, &buf[j], at)
				n++
			}
			return n
		}
	})
}
