/* exits-at-once.c - a broken "lesson program" for bench/grade-broken: it
 * exits with status 1 at once, saying nothing. */
int main(void)
{
    return 1;
}
