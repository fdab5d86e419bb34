package writeback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"

	"github.com/writebackhq/writeback/store"
)

// Everything writeback stores is encoded here, as JSON, and every stored
// record carries the format version it was written in ("v"):
//
//   - an installation (store.Installation.Data): [Installation];
//   - an operation (store.Operation.Data): [Operation], and for an
//     auto-batch group's master operation the group's progress
//     (groupState); for a finished operation with records not written,
//     what a retry sends (retryPlan);
//   - a plain async job's payload (store.Job.Payload): jobPayload, which
//     holds the plan (and for a retried operation, which records its
//     first attempt sends: retryStart);
//   - an auto-batch group job's payload: groupSpec; each member:
//     groupMember.
//
// Enums are stored as text. The JSON of the exported types above is part
// of the format: changing a field's name or meaning is a format change.
//
// Format history:
//
//	0  before versioning: no "v"; Mode stored as a number (0 sync, 1 async).
//	1  "v" on every record; Mode stored as text ("synchronous", "asynchronous").
//	2  a plain async create stores, before each provider call, the claim
//	   about to send ("sendClaim" next to the operation): a claim a crash
//	   interrupted without one sent nothing. Read from an earlier format,
//	   an async create in progress may have sent at any claim.
//	3  record results may be "unchanged" (left with nothing to write by the
//	   rules: not sent, not written); group members list the fields
//	   "stripped" as unmapped; field values are stored in their normal
//	   form (values.go) and read back exactly (json.Number); idempotency
//	   keys are stored as "<installation>:<key>", hash what the caller
//	   sent ("in:" prefix) and are freed into generations
//	   ("<installation>#<n>:<key>"). Earlier records read as they are: no
//	   result was unchanged, no field stripped, and a key stored as
//	   "<installation>\x00<key>" with its earlier hash (of the planned
//	   request) is still found and matched.
//	4  status "canceled" (its records: class "canceled"); a finished operation
//	   with records not written keeps what a retry sends ("retry"), unless
//	   it was stored without field values ("omitValues"); a retried job
//	   says which records its first attempt sends ("retry"); a group
//	   stores its capacity ("maxSize"). Earlier records read as they are:
//	   they keep no retry data, so they cannot be retried.
//	5  upserts: write type "upsert"; a plan's "key" and "updates" (each
//	   record's fields as an update writes them); a group's "key" and a
//	   member's "update"; record results may say "created". Earlier
//	   records hold no upsert and read as they are.
//
// A format change raises formatVersion, migrates older records as they are
// read (decoding accepts every earlier version) and adds a store written by
// the new version under testdata/, which TestStoredFormats resumes to
// completion. A record written by a newer writeback is refused with
// [ErrStoreFormat], never misread.
const formatVersion = 5

// damagedError reports a stored record that does not decode: the work it
// belongs to can never run as it was accepted.
type damagedError struct {
	what string
	err  error
}

func (e *damagedError) Error() string {
	return fmt.Sprintf("writeback: stored %s cannot be read: %v", e.what, e.err)
}

func (e *damagedError) Unwrap() error { return e.err }

// damaged reports data, the stored form of a kind of record, as
// undecodable. A short text that is not JSON is shown as it is: a store
// that found the record damaged explains so there.
func damaged(kind, id string, data []byte, err error) error {
	if !json.Valid(data) && utf8.Valid(data) && len(data) <= 300 {
		err = errors.New(string(data))
	}
	return &damagedError{what: kind + " " + id, err: err}
}

// irreparable reports whether err says that stored work can never run: a
// record that does not decode, or one the store reports damaged. A record
// in a newer format ([ErrStoreFormat]) is not: a newer writeback can run
// it.
func irreparable(err error) bool {
	var d *damagedError
	return errors.As(err, &d) || errors.Is(err, store.ErrCorrupt)
}

// versioned is the format version a stored record carries.
type versioned struct {
	V int `json:"v"`
}

// current returns the version a record is written in.
func current() versioned { return versioned{V: formatVersion} }

// check refuses a record written in a newer format than this build reads.
func (v versioned) check(kind, id string) error {
	if v.V > formatVersion {
		return fmt.Errorf("%w: %s %s is in format %d; this version of writeback reads formats up to %d", ErrStoreFormat, kind, id, v.V, formatVersion)
	}
	return nil
}

// storedInstallation is how an installation is stored.
type storedInstallation struct {
	versioned
	*Installation
}

// installationRecord encodes an installation for the store.
func installationRecord(inst *Installation) (store.Installation, error) {
	data, err := json.Marshal(storedInstallation{current(), inst})
	if err != nil {
		return store.Installation{}, fmt.Errorf("%w: encode: %w", ErrInvalidInstallation, err)
	}
	return store.Installation{
		ID:          inst.ID,
		Integration: inst.Integration,
		GroupRef:    inst.GroupRef,
		Revision:    inst.Revision,
		Data:        data,
	}, nil
}

// decodeInstallation decodes a stored installation into a new value that
// shares nothing with any other.
func decodeInstallation(rec store.Installation) (*Installation, error) {
	s := storedInstallation{Installation: &Installation{}}
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		return nil, damaged("installation", rec.ID, rec.Data, err)
	}
	if err := s.check("installation", rec.ID); err != nil {
		return nil, err
	}
	return s.Installation, nil
}

// storedOperation is how an operation is stored: the operation, for an
// auto-batch group's master operation the group's progress, and for a
// finished operation with records not written what a retry sends.
type storedOperation struct {
	versioned
	*Operation
	Group *groupState `json:"autoBatchGroup,omitempty"`
	// SendClaim is Operation.sendClaim.
	SendClaim int `json:"sendClaim,omitempty"`
	// OmitValues records that the operation is stored without field
	// values ([Retention.OmitValues] when it was accepted): results keep
	// no provider data and no retry plan is kept.
	OmitValues bool       `json:"omitValues,omitempty"`
	Retry      *retryPlan `json:"retry,omitempty"`
}

// retryPlan is what [Writer.Retry] sends again: the operation's plan (for
// an auto-batch group, a partial batch of its members in join order) and
// the length of its retry window.
type retryPlan struct {
	Plan   *plan         `json:"plan"`
	Window time.Duration `json:"window"`
}

// sendUnrecorded is the sendClaim of an async operation read from a format
// that did not record sends: every claim may have sent.
const sendUnrecorded = math.MaxInt

// groupState is a group's progress while it is written, stored with its
// master operation, so that a Writer restarted after a crash resumes where
// the crash left it.
//
// Every provider call of a create group is recorded in InFlight, with the
// results so far, before it is made. Update groups record nothing before
// their calls: an update interrupted by a crash is simply sent again.
type groupState struct {
	// Results holds each member's final result by join index; nil while
	// the member is pending.
	Results []*RecordResult `json:"results,omitempty"`
	// InFlight lists the members of a provider call whose answer was not
	// recorded yet. Found at the start of a run, it means the previous run
	// stopped mid-call: those creates may or may not exist at the provider.
	InFlight []int `json:"inFlight,omitempty"`
}

// encodeOperation encodes an operation, with its group's progress if it
// has one, for the store.
func encodeOperation(o *Operation, group *groupState) (store.Operation, error) {
	if group == nil && !o.omitValues {
		if data, ok := appendAcceptedOperation(make([]byte, 0, 512), o); ok {
			return store.Operation{ID: o.ID, InstallationID: o.InstallationID, Data: data}, nil
		}
	}
	return encodeStored(storedOperation{Operation: o, Group: group})
}

// encodeFinished encodes a finished operation for the store, keeping what
// a retry would send (p, the whole plan, and the length of its retry
// window) if some record was not written and the operation keeps field
// values.
func encodeFinished(o *Operation, p *plan, window time.Duration) (store.Operation, error) {
	s := storedOperation{Operation: o}
	if p != nil && !o.omitValues && (o.Status != OperationSuccess || o.FailureCount() > 0) {
		s.Retry = &retryPlan{Plan: p, Window: window}
	}
	return encodeStored(s)
}

// encodeStored encodes s, without field values if the operation omits them.
func encodeStored(s storedOperation) (store.Operation, error) {
	o := s.Operation
	s.versioned = current()
	s.SendClaim = o.sendClaim
	if o.omitValues {
		s.OmitValues, s.Retry = true, nil
		s.Operation = o.withoutValues()
	}
	data, err := json.Marshal(s)
	if err != nil {
		return store.Operation{}, fmt.Errorf("writeback: encode operation %s: %w", o.ID, err)
	}
	return store.Operation{ID: o.ID, InstallationID: o.InstallationID, Data: data}, nil
}

// decodeOperation decodes a stored operation and its group's progress
// (nil for an operation that is not an auto-batch group's).
func decodeOperation(rec store.Operation) (*Operation, *groupState, error) {
	s, err := decodeStored(rec)
	return s.Operation, s.Group, err
}

// decodeStored decodes a stored operation with everything stored with it.
func decodeStored(rec store.Operation) (storedOperation, error) {
	s := storedOperation{Operation: &Operation{}}
	if err := json.Unmarshal(rec.Data, &s); err != nil {
		return storedOperation{}, damaged("operation", rec.ID, rec.Data, err)
	}
	if err := s.check("operation", rec.ID); err != nil {
		return storedOperation{}, err
	}
	s.Operation.sendClaim = s.SendClaim
	if s.V < 2 && s.Mode == ModeAsync && s.Type == WriteTypeCreate && !s.AutoBatch && !s.Status.Terminal() {
		s.Operation.sendClaim = sendUnrecorded
	}
	s.Operation.omitValues = s.OmitValues
	return s, nil
}

// jobPayload is what a plain async job stores: the validated, transformed
// write and when its retries stop. It holds no credentials.
type jobPayload struct {
	versioned
	Plan     *plan     `json:"plan"`
	Deadline time.Time `json:"deadline"`
	// Retry is set for an operation queued again by [Writer.Retry].
	Retry *retryStart `json:"retry,omitempty"`
}

// retryStart is what a job queued by [Writer.Retry] knows of the retry.
type retryStart struct {
	// Attempts is the operation's attempt count when the retry was
	// requested; the job's claims count on from it. Until the operation
	// records another attempt, the next attempt sends Records.
	Attempts int `json:"attempts"`
	// Records are the indexes of the plan's records the retry sends.
	Records []int `json:"records"`
	// Window is the length of the retry window.
	Window time.Duration `json:"window"`
}

// encodeJob encodes a job payload for the store.
func encodeJob(p jobPayload) ([]byte, error) {
	p.versioned = current()
	if data, ok := appendJobPayload(make([]byte, 0, 512+jobSizeHint(p.Plan)), p); ok {
		return data, nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("writeback: encode job: %w", err)
	}
	return data, nil
}

// unmarshalExact decodes JSON like json.Unmarshal, except that numbers in
// values of type any decode as json.Number, exactly as they were written:
// field values are stored in their normal form (see values.go) and must
// come back unchanged.
func unmarshalExact(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("invalid data after the JSON value")
	}
	return nil
}

// jobSizeHint estimates the encoded size of a plan's records.
func jobSizeHint(p *plan) int {
	if p == nil {
		return 0
	}
	n := 0
	for _, r := range p.Records {
		n += len(r.ID) + 16
		for k, v := range r.Fields {
			n += len(k) + 16
			if s, ok := v.(string); ok {
				n += len(s)
			}
		}
	}
	return n
}

// decodeJob decodes the stored payload of job id.
func decodeJob(id string, data []byte) (jobPayload, error) {
	var p jobPayload
	if err := unmarshalExact(data, &p); err != nil {
		return p, damaged("job", id, data, err)
	}
	if err := p.check("job", id); err != nil {
		return p, err
	}
	if p.Plan == nil {
		return p, damaged("job", id, data, errors.New("no plan"))
	}
	return p, nil
}

// groupSpec is what every member of a group shares, stored as the group
// job's payload when the first member opens the group, with that member's
// policy.
type groupSpec struct {
	versioned
	InstallationID string        `json:"installationId"`
	Integration    string        `json:"integration"`
	GroupRef       string        `json:"groupRef"`
	Object         string        `json:"object"`
	ProviderObject string        `json:"providerObject"`
	Provider       string        `json:"provider"`
	Type           WriteType     `json:"type"`
	Headers        []Header      `json:"headers,omitempty"`
	OpenedAt       time.Time     `json:"openedAt"`
	MaxDelay       time.Duration `json:"maxDelay"`
	RetryDeadline  time.Duration `json:"retryDeadline"`
	// Key is an upsert group's key field (provider name; format 5).
	Key string `json:"key,omitempty"`
	// MaxSize is the group's capacity (format 4; zero before).
	MaxSize int `json:"maxSize,omitempty"`
}

// groupMember is one record of a group, stored when it joins.
type groupMember struct {
	versioned
	Record  Record   `json:"record"`
	IfEmpty []string `json:"ifEmpty,omitempty"`
	// Update is, for an upsert, the record's fields as an update writes
	// them (Record holds them as a create does).
	Update   map[string]any `json:"update,omitempty"`
	JoinedAt time.Time      `json:"joinedAt"`
	// Stripped lists the record's fields not written because the
	// installation leaves them unmapped (application names), for the
	// group's log.
	Stripped []string `json:"stripped,omitempty"`
}

// encodeGroup encodes a group's spec or member for the store.
func encodeGroup[T groupSpec | groupMember](v T) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("writeback: encode auto-batch group: %w", err)
	}
	return data, nil
}

// decodeGroupSpec decodes the payload of group job id.
func decodeGroupSpec(id string, data []byte) (groupSpec, error) {
	var s groupSpec
	if err := json.Unmarshal(data, &s); err != nil {
		return s, damaged("auto-batch group", id, data, err)
	}
	return s, s.check("auto-batch group", id)
}

// decodeMember decodes member i of group job id.
func decodeMember(id string, i int, data []byte) (groupMember, error) {
	var m groupMember
	if err := unmarshalExact(data, &m); err != nil {
		return m, damaged("auto-batch record", fmt.Sprintf("%s[%d]", id, i), data, err)
	}
	return m, m.check("auto-batch record", fmt.Sprintf("%s[%d]", id, i))
}
