package salesforce

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/writebackhq/writeback"
)

var _ writeback.KeyReader = (*Provider)(nil)

var _ writeback.RecordChecker = (*Provider)(nil)

// CheckRecord implements [writeback.RecordChecker]: it reports what
// [Provider.Write] would refuse in rec before sending it, so that the
// engine refuses it when the write is accepted. An update or delete needs
// a 15- or 18-character Salesforce ID; a create carries none; records
// carry no associations; fields may not name Id (on update) or
// attributes, and their values must encode as JSON. The error is a
// [*writeback.ValidationError] whose Field is relative to the record
// ("id", "fields.Id").
func (p *Provider) CheckRecord(object string, typ writeback.WriteType, rec writeback.Record) error {
	var err error
	switch {
	case len(rec.Associations) > 0:
		return &writeback.ValidationError{Field: "associations", Reason: "salesforce records cannot carry associations", Err: writeback.ErrUnsupported}
	case !typ.Valid():
		return &writeback.ValidationError{Reason: fmt.Sprintf("unknown write type %q", typ), Err: writeback.ErrInvalidOptions}
	case typ == writeback.WriteTypeCreate && rec.ID != "":
		return &writeback.ValidationError{Field: "id", Reason: "a create carries no record id", Err: writeback.ErrInvalidRecord}
	case typ == writeback.WriteTypeCreate:
	case typ == writeback.WriteTypeUpsert:
		if rec.ID != "" {
			return &writeback.ValidationError{Field: "id", Reason: "an upsert is identified by its external ID, not a record id", Err: writeback.ErrInvalidRecord}
		}
		err = checkNoIDField(0, rec)
	default:
		err = checkID(0, rec.ID)
	}
	if err == nil && typ == writeback.WriteTypeUpdate {
		err = checkNoIDField(0, rec)
	}
	if err == nil && typ != writeback.WriteTypeDelete {
		var b bytes.Buffer
		err = writeFields(&b, 0, rec.Fields)
	}
	if err == nil {
		return nil
	}
	var ve *writeback.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	cp := *ve
	cp.Field = strings.TrimPrefix(strings.TrimPrefix(ve.Field, "records[0]"), ".")
	return &cp
}
