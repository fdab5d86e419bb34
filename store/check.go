package store

// The checks below are the input rules every [Interface] implementation
// applies before it stores anything (store/storetest holds implementations
// to them). They fail with an [*InputError].

// Validate reports an installation record without an ID.
func (r Installation) Validate() error {
	if r.ID == "" {
		return empty("rec.ID")
	}
	return nil
}

// ValidateNewOperation reports an operation record without an ID, or an
// idempotency key without a key, as [Operations.CreateOperation] and
// [Queue.Enqueue] receive them.
func ValidateNewOperation(rec Operation, key *IdempotencyKey) error {
	if rec.ID == "" {
		return empty("op.ID")
	}
	if key != nil && key.Key == "" {
		return empty("key.Key")
	}
	return nil
}

// ValidateEnqueue reports what [ValidateNewOperation] does, and a job whose
// ID is not its operation's.
func ValidateEnqueue(op Operation, job Job, key *IdempotencyKey) error {
	if err := ValidateNewOperation(op, key); err != nil {
		return err
	}
	if job.ID != op.ID {
		return notOperationID("job.ID")
	}
	return nil
}

// Validate reports a join request without a group key or with a MaxSize
// below one.
func (r JoinRequest) Validate() error {
	switch {
	case r.Group == "":
		return empty("req.Group")
	case r.MaxSize < 1:
		return &InputError{Field: "req.MaxSize", Reason: "must be at least 1"}
	}
	return nil
}

// ValidateNewGroup reports a join request whose new operation has no ID,
// or whose new job does not match the operation or the group key. Stores
// call it when the join opens a group.
func (r JoinRequest) ValidateNewGroup() error {
	switch {
	case r.NewOperation.ID == "":
		return empty("req.NewOperation.ID")
	case r.NewJob.ID != r.NewOperation.ID:
		return notOperationID("req.NewJob.ID")
	case r.NewJob.Group != r.Group:
		return &InputError{Field: "req.NewJob.Group", Reason: "must equal the group key"}
	}
	return nil
}

func empty(field string) error {
	return &InputError{Field: field, Reason: "must not be empty"}
}

func notOperationID(field string) error {
	return &InputError{Field: field, Reason: "must equal the operation ID"}
}

// Validate reports a cancel request whose operation has no ID.
func (r CancelRequest) Validate() error {
	if r.Op.ID == "" {
		return empty("req.Op.ID")
	}
	return nil
}

// Validate reports a requeue request whose operation has no ID, or whose
// job is not a plain job of that operation.
func (r RequeueRequest) Validate() error {
	switch {
	case r.Op.ID == "":
		return empty("req.Op.ID")
	case r.Job.ID != r.Op.ID:
		return notOperationID("req.Job.ID")
	case r.Job.Group != "":
		return &InputError{Field: "req.Job.Group", Reason: "must be empty: only a plain job is queued again"}
	}
	return nil
}
