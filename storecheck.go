package writeback

// The checks below are the input rules every [Store] implementation applies
// before it stores anything (store/storetest holds implementations to
// them). They fail with a [*ValidationError].

// Validate reports an installation record without an ID.
func (r InstallationRecord) Validate() error {
	if r.ID == "" {
		return emptyStoreField("rec.ID")
	}
	return nil
}

// ValidateNewOperation reports an operation record without an ID, or an
// idempotency key without a key, as [OperationStore.CreateOperation] and
// [Queue.Enqueue] receive them.
func ValidateNewOperation(rec OperationRecord, key *IdempotencyKey) error {
	if rec.ID == "" {
		return emptyStoreField("op.ID")
	}
	if key != nil && key.Key == "" {
		return emptyStoreField("key.Key")
	}
	return nil
}

// ValidateEnqueue reports what [ValidateNewOperation] does, and a job whose
// ID is not its operation's.
func ValidateEnqueue(op OperationRecord, job Job, key *IdempotencyKey) error {
	if err := ValidateNewOperation(op, key); err != nil {
		return err
	}
	if job.ID != op.ID {
		return mismatchedStoreJob("job.ID")
	}
	return nil
}

// Validate reports a join request without a group key or with a MaxSize
// below one.
func (r JoinRequest) Validate() error {
	switch {
	case r.Group == "":
		return emptyStoreField("req.Group")
	case r.MaxSize < 1:
		return &ValidationError{Field: "req.MaxSize", Reason: "must be at least 1", Err: ErrInvalidOptions}
	}
	return nil
}

// ValidateNewGroup reports a join request whose new operation has no ID, or
// whose new job does not match the operation or the group key. Stores call
// it when the join opens a group.
func (r JoinRequest) ValidateNewGroup() error {
	switch {
	case r.NewOperation.ID == "":
		return emptyStoreField("req.NewOperation.ID")
	case r.NewJob.ID != r.NewOperation.ID:
		return mismatchedStoreJob("req.NewJob.ID")
	case r.NewJob.Group != r.Group:
		return &ValidationError{Field: "req.NewJob.Group", Reason: "must equal the group key", Err: ErrInvalidOptions}
	}
	return nil
}

func emptyStoreField(field string) error {
	return &ValidationError{Field: field, Reason: "must not be empty", Err: ErrMissingID}
}

func mismatchedStoreJob(field string) error {
	return &ValidationError{Field: field, Reason: "must equal the operation ID", Err: ErrInvalidOptions}
}
