// damo-segment: customer segmentation with Damo. See `damo-segment --help`.
#include "segment/cli.h"

int main(int argc, char** argv) { return segment::run_cli(argc, argv); }
