require ["include"];
include "loop2";
