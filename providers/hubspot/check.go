package hubspot

import (
	"errors"
	"strings"

	"github.com/writebackhq/writeback"
)

var (
	_ writeback.RecordChecker = (*Provider)(nil)
	_ writeback.KeyReader     = (*Provider)(nil)
)

// CheckRecord implements [writeback.RecordChecker]: it reports what
// [Provider.Write] would refuse in rec before sending it, so that the
// engine refuses it when the write is accepted. A record ID must be a
// HubSpot record ID (digits); association targets too, with valid types;
// every field value must be a HubSpot property value: a string, number,
// boolean, time or list of strings (multiple checkboxes), or nil. The
// error is a [*writeback.ValidationError] whose Field is relative to the
// record ("id", "fields.amount").
func (p *Provider) CheckRecord(object string, typ writeback.WriteType, rec writeback.Record) error {
	req := &writeback.ProviderRequest{Object: object, Type: typ, Records: []writeback.Record{rec}}
	if typ != writeback.WriteTypeUpsert { // an upsert's key and ID are the engine's to check
		if err := checkRequest(req); err != nil {
			return relative(err)
		}
	}
	if _, err := encodeProperties(0, rec.Fields); err != nil {
		return relative(err)
	}
	return nil
}

// relative returns a validation error of a one-record request with its
// Field relative to the record.
func relative(err error) error {
	var ve *writeback.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	cp := *ve
	cp.Field = strings.TrimPrefix(strings.TrimPrefix(ve.Field, "records[0]"), ".")
	return &cp
}
