package msg

// zmessages.go holds one type per message of message_template.msg, their
// codecs and the lookup tables. Regenerate it after changing the template or
// internal/cmd/msggen; the generator finds the template as described in its
// documentation (flag -template, $RITUAL_TEMPLATE, or ../shared beside the
// checkout).

//go:generate go run ritual/internal/cmd/msggen -out zmessages.go
