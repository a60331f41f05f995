package command

import "net/http"

// Observer hears every request the table judged, with its origin and its
// reply: the metrics count commands by surface and result with it. It is
// called on the caller's goroutine after the request was applied or
// refused, so it must be quick and must not call back into the table.
type Observer func(o Origin, r Reply)

// SetObserver installs f (nil removes it). It may be called at any time,
// also while requests run.
func (t *Table) SetObserver(f Observer) {
	if f == nil {
		t.observer.Store(nil)
		return
	}
	t.observer.Store(&f)
}

func (t *Table) observe(o Origin, r Reply) {
	if f := t.observer.Load(); f != nil {
		(*f)(o, r)
	}
}

// Result names a reply's outcome in few words, for counting: "applied"
// (every object carried out), "refused" (answered in a 200 but not
// carried out, such as start without a car, or "not supported"),
// "rejected" (a 4xx: bad input, nothing applied) or "error" (a 5xx).
func Result(r Reply) string {
	switch {
	case r.Applied():
		return "applied"
	case r.Status >= http.StatusInternalServerError:
		return "error"
	case r.Status >= http.StatusBadRequest:
		return "rejected"
	}
	return "refused"
}
