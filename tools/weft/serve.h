// serve.h — defines `weft serve`, which runs one task of a cluster (a
// weft::Server, distributed/server.h) until SIGTERM or SIGINT:
// weft::tools::RunServe.
#ifndef WEFT_TOOLS_WEFT_SERVE_H_
#define WEFT_TOOLS_WEFT_SERVE_H_

#include "tools/weft/command_line.h"

namespace weft::tools {

// Runs `weft serve` with the flags ParseCommandLine set; returns the exit
// status (0 after a clean stop, 1 when the server cannot start).
int RunServe(const Invocation& inv);

}  // namespace weft::tools

#endif  // WEFT_TOOLS_WEFT_SERVE_H_
