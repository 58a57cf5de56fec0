from jpkikit.cli import main

raise SystemExit(main())
