require ["include"];
include "loop1";
