// The one --user flag of every long-running tool (see privileges.h).
#include "tools/common/privileges.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, user, "",
          "after start-up (sockets, rings and files open), switch to this user, keeping only "
          "the capability still needed, if any; empty: stay as started");
