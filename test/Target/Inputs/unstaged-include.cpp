// A source that includes a library the GPU machine lacks and --prepare does
// not stage (yaml-cpp: the compiler's, never the runtime's), one that is
// nowhere, and one of the C++ standard library.
#include <no/such/header.h>
#include <vector>
#include <yaml-cpp/yaml.h>
