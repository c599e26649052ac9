package index

// Every test of the package runs segment maintenance with its checks: the
// memberships computed by programs, by plans on the values from before a
// write and by group rechecks are compared with the members.
func init() { checkMaintain = true }
