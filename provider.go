package writeback

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Provider writes records to one SaaS API, such as HubSpot or Salesforce.
//
// The engine validates every request against [Provider.Capabilities] and the
// installation's rules before it calls the provider, so an adapter never sees
// a request it cannot serve. Adapters classify errors as [*ProviderError] and
// do not retry on their own beyond resending what surely did not take effect:
// the engine owns retries until a deadline.
//
// Implementations must be safe for concurrent use.
type Provider interface {
	// Name is the stable key the manifest's integrations use, e.g. "hubspot".
	Name() string
	// Capabilities describes what the provider supports.
	Capabilities() Capabilities
	// Write performs one provider write: a single create, update or delete,
	// or a batch create or update of up to MaxBatchSize records.
	//
	// On success the response holds exactly one result per request record,
	// in order; a record the provider rejected carries its own error. An
	// error return means the call failed as a whole (no record result is
	// known); it should be a [*ProviderError] so the engine can classify it.
	Write(ctx context.Context, req *ProviderRequest) (*ProviderResponse, error)
	// Read fetches the current values of the named fields of the given
	// records in one provider call per batch, for the ifEmpty overwrite rule.
	// The result is keyed by record ID; a record that does not exist is
	// absent. Providers whose Capabilities have IfEmpty false return an error
	// wrapping [ErrUnsupported].
	Read(ctx context.Context, req *ReadRequest) (map[string]map[string]any, error)
}

// Capabilities describes, as data, what a [Provider] supports.
type Capabilities struct {
	// MaxBatchSize is the largest batch the provider accepts in one call.
	// Zero means batches are not supported.
	MaxBatchSize int
	// Delete reports whether single-record deletes are supported.
	Delete bool
	// Associations reports whether records can carry associations on create.
	Associations bool
	// Headers reports whether pass-through request headers are supported.
	Headers bool
	// IfEmpty reports whether [Provider.Read] can fetch current values for
	// the ifEmpty overwrite rule.
	IfEmpty bool
	// AtomicBatchUpdate reports whether an all-or-nothing batch update is
	// atomic at the provider. When false the adapter compensates and says
	// so in [ProviderResponse.Compensation].
	AtomicBatchUpdate bool
	// BeforeSend reports that the adapter calls
	// [ProviderRequest.BeforeSend] before it sends a create, as that field
	// says. An adapter that does must never send a create without it: the
	// engine would take an interrupted create for one never sent, and send
	// it again after a crash.
	BeforeSend bool
	// Upsert reports that the adapter writes [WriteTypeUpsert] requests
	// by a unique key ([ProviderRequest.Key]) and implements [KeyReader],
	// so the engine can tell, before writing, which records exist.
	Upsert bool
}

// WriteType is the kind of write: create, update, upsert or delete.
type WriteType string

// The write types.
const (
	WriteTypeCreate WriteType = "create"
	WriteTypeUpdate WriteType = "update"
	WriteTypeDelete WriteType = "delete"
	// WriteTypeUpsert creates the record or updates the one that has the
	// same value of the object's unique key field (see [Writer.Upsert]).
	WriteTypeUpsert WriteType = "upsert"
)

// Valid reports whether t is one of the defined write types.
func (t WriteType) Valid() bool {
	return t == WriteTypeCreate || t == WriteTypeUpdate || t == WriteTypeDelete || t == WriteTypeUpsert
}

// Record is one record to write. Fields are keyed by the names the
// application sends (after mapping, by provider field names).
type Record struct {
	// ID is the provider's record ID: required for update and delete, empty
	// for create.
	ID string `json:"id,omitempty"`
	// Fields maps field names to values. Values must encode as JSON.
	Fields map[string]any `json:"fields,omitempty"`
	// Associations link a created record to existing records (HubSpot only).
	Associations []Association `json:"associations,omitempty"`
}

// Association links a record to another record on create (HubSpot's v4 shape:
// {"to":{"id":...},"types":[{"associationCategory":...,"associationTypeId":...}]}).
type Association struct {
	// To is the ID of the record to associate with.
	To string `json:"to"`
	// Types lists the association types; at least one is required.
	Types []AssociationType `json:"types"`
}

// AssociationType is one association label.
type AssociationType struct {
	// Category is HUBSPOT_DEFINED, USER_DEFINED or INTEGRATOR_DEFINED.
	Category string `json:"associationCategory"`
	// TypeID is the association type, e.g. 279 for contact to company.
	TypeID int `json:"associationTypeId"`
}

// Header is a pass-through header sent with the provider call (Salesforce
// only), such as Sforce-Auto-Assign: FALSE.
type Header struct {
	// Key is the header name, e.g. Sforce-Auto-Assign.
	Key string `json:"key"`
	// Value is the header value; it may not contain CR, LF or other control characters.
	Value string `json:"value"`
}

// ProviderRequest is one write, already validated and mapped to provider
// field names, as the engine hands it to [Provider.Write].
type ProviderRequest struct {
	// InstallationID identifies the installation, for pacing and logs.
	InstallationID string
	// Connection locates the customer's account (e.g. a Salesforce instance URL).
	Connection Connection
	// TokenSource authorizes the call. It comes from [Config.TokenSource]
	// and is never stored or logged.
	TokenSource oauth2.TokenSource
	// Object is the provider object name, e.g. "contacts" or "Account".
	Object string
	// Type is create, update, upsert or delete.
	Type WriteType
	// Key is set for an upsert only: the provider field with unique
	// values that identifies the records (HubSpot idProperty, Salesforce
	// external ID field). Each record carries its key value in
	// Fields[Key] and has no ID.
	Key string
	// Batch selects the provider's batch endpoint, even for one record.
	Batch bool
	// AllOrNone asks that no record be written if any fails. Meaningful for
	// batches only.
	AllOrNone bool
	// Records are the records to write, with provider field names. A delete
	// has exactly one record with only an ID.
	Records []Record
	// Headers are pass-through headers, already checked against the denylist.
	Headers []Header
	// BeforeSend is set by the engine on an async create when the adapter
	// has [Capabilities.BeforeSend]. The adapter calls it once, before
	// Write returns, right before the first request of the write that can
	// create a record leaves: after any wait for the provider's rate
	// limits and for a token. If it returns an error, the adapter sends
	// nothing and fails the write. The engine records there that the
	// create is about to be sent, so that after a crash it can tell a
	// create that never left from one that may have been written.
	BeforeSend func(ctx context.Context) error `json:"-"`
}

// ReadRequest asks a provider for the current values of some fields of some
// records, in one call.
type ReadRequest struct {
	// InstallationID identifies the installation, for pacing and logs.
	InstallationID string
	// Connection locates the customer's account.
	Connection Connection
	// TokenSource authorizes the call.
	TokenSource oauth2.TokenSource
	// Object is the provider object name.
	Object string
	// IDs are the record IDs to read; for [KeyReader.ReadByKey], the
	// values of the Key field.
	IDs []string
	// Fields are the provider field names to read.
	Fields []string
	// Key is set for [KeyReader.ReadByKey] only: the provider field with
	// unique values the IDs are values of.
	Key string
}

// KeyReader is implemented by adapters with [Capabilities.Upsert]: it
// finds records by the value of a unique field, so that the engine knows,
// before an upsert, which records exist (to apply the writeOnCreate or the
// writeOnUpdate rules) and, after a create whose outcome is unknown,
// whether it was written.
type KeyReader interface {
	// ReadByKey looks up req.IDs, values of the field req.Key, in one
	// provider call per batch and returns the records found, keyed by key
	// value, with the fields req.Fields names (unset fields absent). A
	// value no record has is absent. A key field the provider does not
	// hold unique values in, or a value several records share, is an
	// error (a [*ProviderError] of class invalid or conflict).
	ReadByKey(ctx context.Context, req *ReadRequest) (map[string]KeyedRecord, error)
}

// KeyedRecord is a record [KeyReader.ReadByKey] found.
type KeyedRecord struct {
	// ID is the provider's record ID.
	ID string
	// Fields holds the current values of the fields asked for.
	Fields map[string]any
}

// ProviderResponse is the outcome of a [Provider.Write] that reached the
// provider.
type ProviderResponse struct {
	// Results holds one result per request record, in request order.
	Results []RecordResult
	// Compensation is set when the adapter emulated an all-or-nothing batch
	// the provider cannot do atomically (HubSpot batch update) and had to
	// restore records after a partial failure.
	Compensation *Compensation
	// Calls lists the HTTP requests the adapter sent for this write, in
	// order, resends included.
	Calls []ProviderCall
}

// ProviderCall is one HTTP request an adapter sent to the provider, for the
// operation log. It holds no query, headers, bodies or credentials.
type ProviderCall struct {
	// Method is the HTTP method.
	Method string `json:"method"`
	// Path is the URL path, e.g. /crm/v3/objects/contacts/batch/create.
	Path string `json:"path"`
	// Status is the HTTP status answered, or 0 when no answer came.
	Status int `json:"status,omitempty"`
	// Wait is how long the request waited before it was sent: for room in
	// the provider's rate window and, for a resend, the backoff or the
	// provider's Retry-After.
	Wait time.Duration `json:"wait,omitempty"`
	// Duration is how long the request took, from sending to its answer
	// or failure.
	Duration time.Duration `json:"duration,omitempty"`
}

// RecordResult is the outcome of one record of a write.
type RecordResult struct {
	// ID is the provider's record ID, set on success.
	ID string `json:"id,omitempty"`
	// Created is set on an upsert's record the provider created: false
	// means it updated the record that had the key value (ID), or left it
	// unchanged.
	Created bool `json:"created,omitempty"`
	// Unchanged reports a record the installation's rules left with
	// nothing to write (every field skipped by writeOnCreate or
	// writeOnUpdate, or already set under ifEmpty): it was not sent, did
	// not fail, and is not counted as written. A create left unchanged
	// created nothing and has no ID.
	Unchanged bool `json:"unchanged,omitempty"`
	// Data is the provider's response body for the record, when it sends one.
	Data map[string]any `json:"data,omitempty"`
	// Err is set when the record was not written.
	Err *ProviderError `json:"error,omitempty"`
	// AlreadyDeleted reports a delete of a record that was already gone
	// (deleted earlier, e.g. by a send whose answer was lost): the record
	// is not there, as asked, so the delete succeeded without deleting
	// anything. A record that never existed is an error, when the
	// provider can tell the two apart (see the adapter's documentation).
	AlreadyDeleted bool `json:"alreadyDeleted,omitempty"`
}

// Success reports whether the record did not fail: it was written, or
// left unchanged because the installation's rules left nothing to write.
func (r RecordResult) Success() bool { return r.Err == nil }

// Written reports whether the record was written to the provider.
func (r RecordResult) Written() bool { return r.Err == nil && !r.Unchanged }

// Compensation reports how an emulated all-or-nothing batch was undone: the
// records that were changed and then restored, and those that could not be.
type Compensation struct {
	// Restored lists the IDs of records changed by the batch and restored
	// to their earlier values.
	Restored []string `json:"restored,omitempty"`
	// Unrestored lists records that keep the batch's values because the
	// restore failed; the batch was not atomic for them.
	Unrestored []RecordResult `json:"unrestored,omitempty"`
}

// ErrorClass classifies a provider error; it decides whether the engine retries.
type ErrorClass string

// The error classes.
const (
	// ClassInvalid: the provider rejected the input (e.g. HubSpot 400
	// VALIDATION_ERROR, Salesforce REQUIRED_FIELD_MISSING). Not retryable.
	ClassInvalid ErrorClass = "invalid"
	// ClassConflict: a unique value already exists (HubSpot 409 CONFLICT,
	// Salesforce DUPLICATE_VALUE). Not retryable. ExistingID may name the
	// record that holds it.
	ClassConflict ErrorClass = "conflict"
	// ClassNotFound: the record or object does not exist. Not retryable.
	ClassNotFound ErrorClass = "not_found"
	// ClassAuth: the credentials were refused even after one refresh. Not retryable.
	ClassAuth ErrorClass = "auth"
	// ClassPermission: the credentials lack a scope or permission. Not retryable.
	ClassPermission ErrorClass = "permission"
	// ClassRateLimited: a short rate-limit window is full (HubSpot 429
	// TEN_SECONDLY_ROLLING). Retryable soon.
	ClassRateLimited ErrorClass = "rate_limited"
	// ClassQuota: a daily quota is spent (HubSpot 429 DAILY, Salesforce 403
	// REQUEST_LIMIT_EXCEEDED) or the pacer keeps the reserve. Retryable
	// after RetryAfter.
	ClassQuota ErrorClass = "quota"
	// ClassUnavailable: the provider is temporarily unable (5xx, HubSpot
	// 423 and 477, Salesforce UNABLE_TO_LOCK_ROW). Retryable.
	ClassUnavailable ErrorClass = "unavailable"
	// ClassRolledBack: the record was valid but rolled back with a failing
	// all-or-nothing batch. Not retryable on its own; the batch can be
	// retried without the failing records.
	ClassRolledBack ErrorClass = "rolled_back"
	// ClassUnknownOutcome: the request was sent but no answer came, so the
	// write may or may not have happened. Never resent blindly.
	ClassUnknownOutcome ErrorClass = "unknown_outcome"
	// ClassCanceled: the write was canceled before it completed. Either
	// the caller's context ended (its deadline passed or it was canceled)
	// before a sync write completed: the error wraps the context's error,
	// so errors.Is(err, context.DeadlineExceeded) works, and an update or
	// delete may or may not have been applied and can be repeated safely
	// (a create that may have been sent is ClassUnknownOutcome instead).
	// Or [Writer.Cancel] stopped an async operation before the record was
	// written. Not retried; [Writer.Retry] sends such records again.
	ClassCanceled ErrorClass = "canceled"
	// ClassInternal: anything else, such as an unparseable response. Not retryable.
	ClassInternal ErrorClass = "internal"
)

// NoRecord is the [ProviderError.RecordIndex] of an error about the whole request.
const NoRecord = -1

// ProviderError is an error returned by a provider, classified by its adapter.
// It is safe to store and show: it never holds credentials.
type ProviderError struct {
	// Provider is the provider's name, e.g. "hubspot".
	Provider string `json:"provider"`
	// Class decides retries; see [ProviderError.Retryable].
	Class ErrorClass `json:"class"`
	// StatusCode is the HTTP status of the provider call that carried the
	// error, or 0 when none was received. For a record of a batch it is
	// the batch call's status (such as 200 or 207) and Code says what went
	// wrong with the record.
	StatusCode int `json:"statusCode,omitempty"`
	// Code is the provider's error code, e.g. VALIDATION_ERROR or
	// DUPLICATE_VALUE; for a rate limit, the policy (HubSpot
	// TEN_SECONDLY_ROLLING or DAILY).
	Code string `json:"code,omitempty"`
	// Message is the provider's message.
	Message string `json:"message"`
	// Fields names the provider fields the error is about, when known.
	Fields []string `json:"fields,omitempty"`
	// FieldErrors says what the provider found wrong with each field,
	// when it says so per field (HubSpot errors[] with propertyName,
	// Salesforce errors with fields).
	FieldErrors []FieldError `json:"fieldErrors,omitempty"`
	// CorrelationID is the provider's request handle for support
	// (HubSpot correlationId).
	CorrelationID string `json:"correlationId,omitempty"`
	// ExistingID is the ID of the record that already holds a unique value,
	// on a conflict.
	ExistingID string `json:"existingId,omitempty"`
	// RetryAfter is how long the provider asked to wait, or zero.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	// RecordIndex is the index of the request record the error is about, or
	// [NoRecord] when it is about the whole request.
	RecordIndex int `json:"recordIndex"`
	// Calls lists the HTTP requests the adapter sent before failing, in
	// order, resends included; set on an error that failed the whole write.
	Calls []ProviderCall `json:"calls,omitempty"`
	// Err is the underlying error, if any (not stored).
	Err error `json:"-"`
}

// Error implements error.
func (e *ProviderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Provider, e.Class)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (%d", e.StatusCode)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		b.WriteString(")")
	} else if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	switch {
	case len(e.FieldErrors) > 0:
		b.WriteString(" [fields: ")
		for i, f := range e.FieldErrors {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.String())
		}
		b.WriteString("]")
	case len(e.Fields) > 0:
		fmt.Fprintf(&b, " [fields: %s]", strings.Join(e.Fields, ", "))
	}
	if e.RecordIndex >= 0 {
		fmt.Fprintf(&b, " [record %d]", e.RecordIndex)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ProviderError) Unwrap() error { return e.Err }

// FieldError is what a provider found wrong with one field of a record.
type FieldError struct {
	// ProviderField is the provider's name of the field (a HubSpot
	// property, a Salesforce field API name), as the adapter read it from
	// the answer.
	ProviderField string `json:"providerField,omitempty"`
	// Field is the application's name of the field: the engine fills it
	// on every outcome (sync, async, auto-batch) through the
	// installation's mapping, the inverse of the rename the write went
	// through, and sets it to ProviderField when no mapping renames the
	// field. Adapters leave it empty: they know only ProviderField.
	Field string `json:"field,omitempty"`
	// Code is the provider's code for the problem, e.g.
	// PROPERTY_DOESNT_EXIST, INVALID_OPTION, REQUIRED_FIELD_MISSING.
	Code string `json:"code,omitempty"`
	// Message is the provider's message about the field.
	Message string `json:"message,omitempty"`
}

// String returns "field (CODE): message", naming the application's field
// when known.
func (f FieldError) String() string {
	var b strings.Builder
	switch {
	case f.Field != "" && f.ProviderField != "" && f.Field != f.ProviderField:
		fmt.Fprintf(&b, "%s (%s)", f.Field, f.ProviderField)
	case f.Field != "":
		b.WriteString(f.Field)
	default:
		b.WriteString(f.ProviderField)
	}
	if f.Code != "" {
		fmt.Fprintf(&b, " %s", f.Code)
	}
	if f.Message != "" {
		fmt.Fprintf(&b, ": %s", f.Message)
	}
	return b.String()
}

// Retryable reports whether the same write may succeed if tried again later:
// rate limits, quotas and temporary unavailability.
func (e *ProviderError) Retryable() bool {
	switch e.Class {
	case ClassRateLimited, ClassQuota, ClassUnavailable:
		return true
	}
	return false
}

// RequestEncoder is implemented by adapters that can show the HTTP requests
// a write would send, without sending them. [Writer.DryRun] uses it to
// return the exact provider payload.
type RequestEncoder interface {
	// EncodeWrite returns the HTTP requests [Provider.Write] would send for
	// req, in order, without sending anything. Requests that depend on an
	// earlier response (such as a compensating restore) are left out.
	EncodeWrite(req *ProviderRequest) ([]HTTPRequest, error)
}

// RecordChecker is implemented by adapters that can tell, without sending
// anything, that the provider would refuse a record: an ID in the wrong
// form, a value the provider cannot store. The engine calls CheckRecord
// for every record of every write before it is stored or sent, in every
// mode (sync, async, auto-batch, dry run), with the record as the provider
// receives it (provider field names, normalised values; see
// [Writer.Create]), so that such input is refused at once with a
// [*ValidationError] and nothing is stored or sent. An auto-batch group
// checks its members again before writing them, and fails only those
// refused.
type RecordChecker interface {
	// CheckRecord reports what the provider would refuse in rec, a record
	// of a write of type typ to the provider object: nil if nothing, else
	// a [*ValidationError] whose Field locates the problem within the
	// record, such as "id" or "fields.amount".
	CheckRecord(object string, typ WriteType, rec Record) error
}

// HTTPRequest is an HTTP request as a provider would receive it, minus
// credentials.
type HTTPRequest struct {
	// Method is the HTTP method.
	Method string `json:"method"`
	// URL is the absolute URL.
	URL string `json:"url"`
	// Header holds the pass-through headers; never Authorization.
	Header map[string]string `json:"header,omitempty"`
	// Body is the JSON body, or nil.
	Body json.RawMessage `json:"body,omitempty"`
}
