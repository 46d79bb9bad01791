// damo::version(): the version of the library, fixed when the library is compiled.
#include "damo/version.h"

namespace damo {

const char* version() { return DAMO_VERSION_STRING; }

}  // namespace damo
