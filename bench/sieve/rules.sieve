require ["fileinto", "imap4flags", "envelope", "regex", "relational", "comparator-i;ascii-numeric", "body", "mailbox"];
if header :contains "subject" "[SPAM]" { fileinto "Junk"; stop; }
if header :matches "subject" "*invoice*#*" { fileinto :create "Invoices"; }
if address :domain :is "from" "newsletter.example" { fileinto :create "News"; }
if address :localpart :contains "from" "noreply" { addflag "$Automated"; }
if envelope :domain :is "from" "lists.example" { fileinto :create "Lists"; }
if header :contains "list-id" "announce" { fileinto :create "Announce"; }
if exists "x-mailing-list" { fileinto :create "Lists"; }
if size :over 5M { addflag "$Large"; }
if header :regex "subject" "^\\[ticket #[0-9]+\\]" { fileinto :create "Tickets"; }
if anyof (header :contains "from" "boss@corp.example", header :contains "cc" "boss@corp.example") { addflag "\\Flagged"; }
if header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "5" { fileinto "Junk"; }
if header :contains "x-priority" "1" { addflag "\\Flagged"; }
if address :all :is "to" "sales@corp.example" { fileinto :create "Sales"; }
if header :contains "subject" ["order", "shipment", "delivery"] { fileinto :create "Orders"; }
if allof (exists "list-unsubscribe", not header :contains "from" "corp.example") { fileinto :create "Promotions"; }
if header :matches "from" "*@*.gov" { addflag "$Government"; }
if address :domain :matches "from" "*.bank.example" { fileinto :create "Bank"; }
if header :contains "content-type" "calendar" { addflag "$Invite"; }
if header :is "auto-submitted" "auto-generated" { fileinto :create "Automated"; }
if envelope :localpart :is "to" "archive" { fileinto :create "Archive"; }
