//! Message structure computed once at delivery: headers, MIME tree with offsets, envelope, decoding
