package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/writebackhq/writeback"
)

// A batch create sent without objectWriteTraceIds (all-or-nothing) that
// would give a record a unique value another record already holds fails
// as a whole: HubSpot answers 409 CONFLICT about the first such input it
// meets, with a body that says which record holds the value but not which
// input collided:
//
//	{"status":"error","message":"Contact already exists. Existing ID: 1234","correlationId":"…","category":"CONFLICT"}
//
// conflictInput finds that input, so that it alone is reported as the
// conflict and the others as rolled back.

// knownUnique lists, per object, the properties HubSpot documents as
// unique: a contact's email. Custom unique properties are not known to
// the adapter.
var knownUnique = map[string][]string{"contacts": {"email"}, "0-1": {"email"}}

// conflictInput returns the index of the input of a batch create that
// HubSpot refused as a whole with perr (409 CONFLICT, body the answer's
// body), or -1 and why it cannot be told.
//
// First from the answer: an errors[] entry naming a property (in, or
// context.propertyName) whose message echoes one input's value of it,
// such as {"message":"A contact with email a@example.com already exists.
// Existing ID: 1234","in":"email"}. Failing that, from the record the
// answer names: one batch read of its values for the properties the inputs
// carry (one more call, logged with the write's calls), then the input
// that holds its value of a known unique property (a contact's email), or
// the only input that shares any value with it. Anything less certain is
// not a match: a record wrongly blamed would have the others written
// without it.
func (p *Provider) conflictInput(ctx context.Context, req *writeback.ProviderRequest, pl *plan, body []byte, perr *writeback.ProviderError) (int, string) {
	var e apiError
	_ = json.Unmarshal(body, &e)
	if i := echoedInput(&e, pl.props); i >= 0 {
		return i, ""
	}
	if perr.ExistingID == "" {
		return -1, "the answer names no record that holds the value"
	}
	names := map[string]bool{}
	for _, props := range pl.props {
		for k := range props {
			names[k] = true
		}
	}
	got, err := p.read(ctx, pl, &writeback.ReadRequest{
		InstallationID: req.InstallationID, Connection: req.Connection, TokenSource: req.TokenSource,
		Object: req.Object, IDs: []string{perr.ExistingID}, Fields: slices.Sorted(maps.Keys(names)),
	})
	if err != nil {
		return -1, fmt.Sprintf("reading record %s to find it failed: %v", perr.ExistingID, err)
	}
	existing, ok := got[perr.ExistingID]
	if !ok {
		return -1, fmt.Sprintf("record %s could not be read to find it", perr.ExistingID)
	}
	return holderOf(req.Object, perr.ExistingID, existing, pl.props)
}

// echoedInput returns the one input whose value of a property an error
// names is echoed in that error's message, or -1.
func echoedInput(e *apiError, props []map[string]string) int {
	found := map[int]bool{}
	check := func(names []string, text string, ctx json.RawMessage) {
		text = existingIDRE.ReplaceAllString(text, "")
		for _, name := range names {
			echoed := contextValues(ctx, name)
			for i, in := range props {
				v := strings.TrimSpace(in[name])
				if v == "" {
					continue
				}
				if echoes(text, v) || slices.ContainsFunc(echoed, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), v) }) {
					found[i] = true
				}
			}
		}
	}
	check(contextValues(e.Context, "propertyName"), e.Message, e.Context)
	for _, d := range e.Errors {
		names := contextValues(d.Context, "propertyName")
		if len(names) == 0 && !slices.Contains(genericLocations, strings.ToLower(d.In)) {
			names = []string{d.In}
		}
		check(names, d.Message, d.Context)
	}
	if len(found) != 1 {
		return -1
	}
	for i := range found {
		return i
	}
	return -1
}

// echoes reports whether text holds value as a whole word, without case:
// "a@example.com" is echoed in "A contact with email A@example.com
// already exists." but not in "xa@example.com".
func echoes(text, value string) bool {
	lt, lv := strings.ToLower(text), strings.ToLower(value)
	for from := 0; ; {
		k := strings.Index(lt[from:], lv)
		if k < 0 {
			return false
		}
		start, end := from+k, from+k+len(lv)
		before, _ := utf8.DecodeLastRuneInString(lt[:start])
		after, size := utf8.DecodeRuneInString(lt[end:])
		next, _ := utf8.DecodeRuneInString(lt[min(end+size, len(lt)):])
		if (start == 0 || !wordRune(before) && before != '.') &&
			(end == len(lt) || !wordRune(after) && (after != '.' || end+size == len(lt) || !wordRune(next))) {
			return true
		}
		from = start + 1
	}
}

// wordRune reports a rune that can be part of a value such as an email
// address or a domain.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("@_-+", r)
}

// holderOf returns the input that holds a value of the existing record
// id (its values by property, non-empty), or -1 and why it cannot be
// told: the one input with its value of a known unique property, else
// the only input sharing any of its values.
func holderOf(object, id string, existing map[string]any, props []map[string]string) (int, string) {
	same := func(name string) []int {
		want, _ := existing[name].(string)
		want = strings.TrimSpace(want)
		var out []int
		for i, in := range props {
			if want != "" && strings.EqualFold(strings.TrimSpace(in[name]), want) {
				out = append(out, i)
			}
		}
		return out
	}
	for _, name := range knownUnique[object] {
		if m := same(name); len(m) == 1 {
			return m[0], ""
		}
	}
	var sharing []int
	for _, name := range slices.Sorted(maps.Keys(existing)) {
		for _, i := range same(name) {
			if !slices.Contains(sharing, i) {
				sharing = append(sharing, i)
			}
		}
	}
	slices.Sort(sharing)
	switch len(sharing) {
	case 1:
		return sharing[0], ""
	case 0:
		return -1, fmt.Sprintf("no record of the batch holds a value of record %s", id)
	}
	return -1, fmt.Sprintf("records %s hold values of record %s, and which of its properties HubSpot keeps unique is not known", joinInts(sharing), id)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// untiedConflict is the error of each record of an all-or-nothing batch
// create refused with 409 CONFLICT when the record at fault cannot be
// told: none was written, and the error names the record holding the
// value.
func untiedConflict(index int, cause *writeback.ProviderError, why string) *writeback.ProviderError {
	holder := "an existing record"
	if cause.ExistingID != "" {
		holder = "existing record " + cause.ExistingID
	}
	return &writeback.ProviderError{
		Provider: Name, Class: writeback.ClassRolledBack, StatusCode: cause.StatusCode, Code: cause.Code,
		Message: fmt.Sprintf("not written: HubSpot refused the all-or-nothing batch because one of its records holds a unique value of %s (%q), without saying which; %s",
			holder, cause.Message, why),
		CorrelationID: cause.CorrelationID, ExistingID: cause.ExistingID, RecordIndex: index,
	}
}
