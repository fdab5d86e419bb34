package writeback

import (
	"context"
	"slices"
)

// isolatable reports whether a failed batch may be split to find the
// records that made it fail: the provider rejected the input as a whole
// without saying which record was at fault.
func isolatable(perr *ProviderError) bool {
	if perr.RecordIndex != NoRecord {
		return false
	}
	switch perr.Class {
	case ClassInvalid, ClassConflict, ClassNotFound:
		return true
	}
	return false
}

// sharedRejection returns the error of a batch whose records all failed
// with one and the same error about the input, as a whole-batch error
// naming no record: that is how an adapter reports a batch the provider
// refused as a whole without saying which record was at fault (HubSpot's
// batch update, for one). It returns nil otherwise.
func sharedRejection(results []RecordResult) *ProviderError {
	first := results[0].Err
	if first == nil || !isolatable(&ProviderError{Class: first.Class, RecordIndex: NoRecord}) {
		return nil
	}
	for _, r := range results[1:] {
		e := r.Err
		if e == nil || e.Class != first.Class || e.StatusCode != first.StatusCode || e.Code != first.Code ||
			e.Message != first.Message || e.CorrelationID != first.CorrelationID || !slices.Equal(e.Fields, first.Fields) {
			return nil
		}
	}
	cp := *first
	cp.RecordIndex = NoRecord
	return &cp
}

// isolate finds the records that make a batch fail as a whole (perr, with
// no record named) by bisection, writing the others.
//
// The first search of a run expects few bad records. It sends one half: if
// that half is written, the fault is in the other, which is split in turn
// without being sent again; if it fails, the search goes on in it and the
// other half is set aside, to be sent once, together, at the end. One bad
// record among n costs ceil(log2 n) + 1 calls after the failed batch. A
// record found by elimination gets the error of the smallest failed batch
// that held it. If the records set aside fail too, there are several bad
// records, and later searches of the run test both halves of every failing
// set (see split), which costs at most two calls per record searched.
func (r *groupRun) isolate(ctx context.Context, s []int, perr *ProviderError) {
	if r.searched {
		r.split(ctx, s, perr)
		return
	}
	r.searched = true
	var untested []int
	for len(s) > 1 {
		left, right := s[:len(s)/2], s[len(s)/2:]
		out := r.call(ctx, left)
		if out == nil {
			return
		}
		if out.Err == nil {
			again, failed := r.apply(left, out)
			untested = append(untested, again...)
			if failed {
				// The provider named bad records in this half after all;
				// the other half is not known to fail.
				untested = append(untested, right...)
				s = nil
				break
			}
			s = right
			continue
		}
		untested = append(untested, right...)
		if !isolatable(out.Err) {
			r.reject(ctx, left, out.Err)
			s = nil
			break
		}
		s, perr = left, out.Err
	}
	if len(s) == 1 {
		r.final(s[0], RecordResult{Err: perr})
	}
	if len(untested) > 0 {
		r.write(ctx, untested)
	}
}

// split finds the bad records of s, which failed as a whole with perr, by
// testing both halves of every failing set.
func (r *groupRun) split(ctx context.Context, s []int, perr *ProviderError) {
	if len(s) == 1 {
		r.final(s[0], RecordResult{Err: perr})
		return
	}
	for _, half := range [][]int{s[:len(s)/2], s[len(s)/2:]} {
		out := r.call(ctx, half)
		switch {
		case out == nil:
			return
		case out.Err == nil:
			if again, _ := r.apply(half, out); len(again) > 0 {
				r.write(ctx, again)
			}
		case isolatable(out.Err) && len(half) > 1:
			r.split(ctx, half, out.Err)
		default:
			r.reject(ctx, half, out.Err)
		}
	}
}
