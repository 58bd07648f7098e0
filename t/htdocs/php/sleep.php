<?php
// A PHP-FPM backend for t/codes/backend_abort.t: notes its start, then
// sleeps ?s= seconds (default 30) before it answers.
file_put_contents(dirname(__DIR__, 2) . '/logs/php_started',
                  getmypid() . ' ' . ($_SERVER['QUERY_STRING'] ?? '') . "\n",
                  FILE_APPEND);
sleep((int)($_GET['s'] ?? 30));
echo "php answer\n";
