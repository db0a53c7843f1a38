// SPDX-License-Identifier: Apache-2.0
// The witness's group commit is store::GroupCommitter (store/group_commit.h),
// shared with ktlog's prekey directory and mailbox; this header keeps the
// witness's name for it.
#ifndef KT_WITNESS_GROUP_COMMIT_H_
#define KT_WITNESS_GROUP_COMMIT_H_

#include "store/group_commit.h"

namespace kt::witness {

using GroupCommitter = store::GroupCommitter;

}  // namespace kt::witness

#endif  // KT_WITNESS_GROUP_COMMIT_H_
