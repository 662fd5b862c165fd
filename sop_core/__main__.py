from sop_core.cli import main

raise SystemExit(main())
